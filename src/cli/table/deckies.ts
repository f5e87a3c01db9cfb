// Command table entries for deploying and inspecting deckies (data only: DESIGN §6 rule 3).
import type { CommandSpec } from '../commands.ts';
import type { OptionSpec } from '../args.ts';

const JSON_OPT: OptionSpec = { name: 'json', type: 'boolean', summary: 'print machine-readable JSON' };
const TIMEOUT_OPT: OptionSpec = { name: 'timeout', type: 'number', value: 'SECONDS', summary: 'how long to wait for the decoy host to apply the plan', default: 20 };

export const DECKY_COMMANDS: CommandSpec[] = [
  {
    name: 'deploy',
    group: 'deckies',
    summary: 'plan deckies (INI file or flags) and run them in the decoy host',
    options: [
      { name: 'config', short: 'c', type: 'string', value: 'FILE', summary: 'deployment INI file ([general], decky sections, [decky.service] settings)' },
      { name: 'deckies', short: 'n', type: 'number', value: 'N', summary: 'number of deckies (without --config)' },
      { name: 'archetype', short: 'a', type: 'string', value: 'A', summary: 'archetype of every decky (see decnet archetypes)' },
      { name: 'services', type: 'list', value: 'a,b', summary: 'services of every decky (see decnet services)' },
      { name: 'randomize-services', type: 'boolean', summary: 'give deckies without services 1-3 random ones' },
      { name: 'distro', type: 'list', value: 'd1,d2', summary: 'distros, used in turn (see decnet distros)' },
      { name: 'subnet', type: 'string', value: 'CIDR', summary: 'subnet to allocate addresses in (default 127.77.0.0/24)' },
      { name: 'gateway', type: 'string', value: 'IP', summary: 'gateway address, never given to a decky (default: first host address)' },
      { name: 'ip-start', type: 'string', value: 'IP', summary: 'allocate addresses from here upwards' },
      { name: 'dry-run', type: 'boolean', summary: 'print the plan; write and start nothing' },
      { name: 'start', type: 'boolean', summary: 'start the decoy host if none runs (--no-start: only write the plan)', default: true },
      TIMEOUT_OPT,
      JSON_OPT,
    ],
    load: () => import('../deploy.ts').then((m) => m.default),
  },
  {
    name: 'teardown',
    group: 'deckies',
    summary: 'remove deckies from the plan (the decoy host stops them)',
    options: [
      { name: 'all', type: 'boolean', summary: 'remove every decky' },
      { name: 'id', type: 'list', value: 'NAME', summary: 'remove this decky (repeatable, or comma-separated)' },
      TIMEOUT_OPT,
      JSON_OPT,
    ],
    load: () => import('../teardown.ts').then((m) => m.default),
  },
  {
    name: 'services',
    group: 'deckies',
    summary: 'list the decoy services and their default ports',
    options: [JSON_OPT],
    load: () => import('../catalog-list.ts').then((m) => m.services),
  },
  {
    name: 'archetypes',
    group: 'deckies',
    summary: 'list the machine archetypes a decky can impersonate',
    options: [JSON_OPT],
    load: () => import('../catalog-list.ts').then((m) => m.archetypes),
  },
  {
    name: 'distros',
    group: 'deckies',
    summary: 'list the operating systems a decky can impersonate',
    options: [JSON_OPT],
    load: () => import('../catalog-list.ts').then((m) => m.distros),
  },
];
