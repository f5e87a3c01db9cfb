// Command-table entries of the Intelligence group: views of attackers, credentials and events
// (data only: loading this file loads no implementation).
import type { CommandSpec } from '../commands.ts';
import type { OptionSpec } from '../args.ts';

const JSON_OPT: OptionSpec = { name: 'json', type: 'boolean', summary: 'print machine-readable JSON' };
const limit = (n: number): OptionSpec => ({ name: 'limit', short: 'n', type: 'number', value: 'N', summary: `how many rows (default ${n})` });

export const INTEL_COMMANDS: CommandSpec[] = [
  {
    name: 'attackers',
    group: 'intel',
    summary: 'attacker profiles: one row per source IP, with behaviour and tools',
    options: [
      limit(20),
      { name: 'sort', type: 'string', value: 'ORDER', summary: 'recent (default), active or traversals', choices: ['recent', 'active', 'traversals'] },
      { name: 'search', type: 'string', value: 'TEXT', summary: 'only IPs, reverse names, AS names or countries containing TEXT' },
      { name: 'service', type: 'string', value: 'NAME', summary: 'only attackers that touched this service' },
      JSON_OPT,
    ],
    load: () => import('../views/attackers.ts').then((m) => m.default),
  },
  {
    name: 'attacker',
    group: 'intel',
    summary: 'one attacker in detail: timeline, behaviour, kill chain, commands, credentials',
    args: [{ name: 'ip', summary: 'the source IP address', required: true }],
    options: [{ name: 'commands', type: 'number', value: 'N', summary: 'how many of the latest commands to show (default 20)' }, JSON_OPT],
    load: () => import('../views/attacker.ts').then((m) => m.default),
  },
  {
    name: 'credentials',
    group: 'intel',
    summary: 'captured credentials, or with --reuse the secrets reused across deckies, services or IPs',
    options: [
      limit(30),
      { name: 'reuse', type: 'boolean', summary: 'list credential reuse instead' },
      { name: 'service', type: 'string', value: 'NAME', summary: 'only this service' },
      { name: 'attacker', type: 'string', value: 'IP', summary: 'only this source IP' },
      { name: 'search', type: 'string', value: 'TEXT', summary: 'only principals, secrets, deckies or IPs containing TEXT' },
      JSON_OPT,
    ],
    load: () => import('../views/credentials.ts').then((m) => m.default),
  },
  {
    name: 'events',
    group: 'intel',
    summary: 'stored events, newest last; --follow keeps printing them live',
    options: [
      { name: 'follow', short: 'f', type: 'boolean', summary: 'keep printing new events as they are stored (Ctrl-C stops)' },
      limit(20),
      { name: 'decky', type: 'string', value: 'NAME', summary: 'only this decky' },
      { name: 'service', type: 'string', value: 'NAME', summary: 'only this service' },
      { name: 'event', type: 'string', value: 'NAME', summary: 'only this event type (auth_attempt, command, …)' },
      { name: 'attacker', type: 'string', value: 'IP', summary: 'only this source IP' },
      { name: 'json', type: 'boolean', summary: 'one JSON object per line' },
    ],
    load: () => import('../views/events.ts').then((m) => m.default),
  },
];
