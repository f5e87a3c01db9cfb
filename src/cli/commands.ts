// The command table (DESIGN §6 rule 3): data only. `decnet --help` reads it and imports no command
// implementation; running a command imports that command's module alone.
import type { ArgSpec, OptionSpec, ParsedArgs } from './args.ts';
import { WORKERS } from '../fleet/registry.ts';
import { workerCommand } from './worker-command.ts';
import { DATA_COMMANDS } from './table/data.ts';
import { DECKY_COMMANDS } from './table/deckies.ts';
import { INTEL_COMMANDS } from './table/intel.ts';
import { HERD_COMMANDS } from './table/herd.ts';

export type CommandGroup = 'fleet' | 'workers' | 'deckies' | 'data' | 'intel' | 'inspect';

export const GROUP_TITLES: Record<CommandGroup, string> = {
  fleet: 'Fleet',
  workers: 'Workers (each runs standalone: decnet <worker>)',
  deckies: 'Deckies',
  data: 'Data',
  intel: 'Intelligence',
  inspect: 'Inspect',
};

/** A command implementation: returns an exit code (default 0). */
export type CommandRun = (args: ParsedArgs) => Promise<number | void>;

export interface CommandSpec {
  readonly name: string;
  readonly group: CommandGroup;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  readonly args?: readonly ArgSpec[];
  readonly hidden?: boolean;
  /** Set for commands that run a worker standalone. */
  readonly worker?: string;
  load(): Promise<CommandRun>;
}

export const JSON_OPTION: OptionSpec = { name: 'json', type: 'boolean', summary: 'print machine-readable JSON' };
const FLEET_OPTION: OptionSpec = { name: 'fleet', short: 'f', type: 'string', value: 'FILE', summary: 'fleet spec file (default: the shipped spec)' };
const LAYOUT_OPTION: OptionSpec = { name: 'layout', short: 'l', type: 'string', value: 'LAYOUT', summary: 'isolated, grouped or single (default: the spec\'s)', choices: ['isolated', 'grouped', 'single'] };

const core: CommandSpec[] = [
  {
    name: 'up',
    group: 'fleet',
    summary: 'start the whole fleet from its spec and keep it running',
    options: [FLEET_OPTION, LAYOUT_OPTION, { name: 'quiet', short: 'q', type: 'boolean', summary: 'no live status line' }],
    load: () => import('./up.ts').then((m) => m.default),
  },
  {
    name: 'supervise',
    group: 'fleet',
    summary: 'run one group of the fleet spec in this process',
    args: [{ name: 'group', summary: 'group name from the fleet spec', required: true }],
    options: [FLEET_OPTION, LAYOUT_OPTION],
    load: () => import('./supervise.ts').then((m) => m.default),
  },
  {
    name: 'init',
    group: 'fleet',
    summary: 'render and install systemd units for the fleet spec',
    options: [
      FLEET_OPTION,
      LAYOUT_OPTION,
      { name: 'dry-run', type: 'boolean', summary: 'print the units instead of installing them' },
      { name: 'out', type: 'string', value: 'DIR', summary: 'with --dry-run: write the units into DIR' },
      { name: 'user', type: 'string', value: 'USER', summary: 'run the units as this user', default: 'decnet' },
      { name: 'bin', type: 'string', value: 'PATH', summary: 'path of the decnet executable (default: this one)' },
    ],
    load: () => import('./init.ts').then((m) => m.default),
  },
  {
    name: 'status',
    group: 'inspect',
    summary: 'workers, host processes, state, heartbeat age and restarts',
    options: [JSON_OPTION],
    load: () => import('./status.ts').then((m) => m.default),
  },
  {
    name: 'mem',
    group: 'inspect',
    summary: 'memory of the running fleet per process (PSS, USS, RSS)',
    options: [JSON_OPTION, { name: 'baseline', type: 'boolean', summary: 'also measure an idle node for comparison', default: true }],
    load: () => import('./mem.ts').then((m) => m.default),
  },
  {
    name: 'fleet',
    group: 'fleet',
    summary: 'validate a fleet spec and show its processes',
    options: [FLEET_OPTION, LAYOUT_OPTION, JSON_OPTION],
    load: () => import('./fleet-show.ts').then((m) => m.default),
  },
];

// Workers whose command also has actions (`decnet ttp export`) are listed by that command instead.
const workerCommands: CommandSpec[] = WORKERS.filter((w) => !w.commandHasActions).map(workerCommand);

export const COMMANDS: readonly CommandSpec[] = [...core, ...DECKY_COMMANDS, ...DATA_COMMANDS, ...INTEL_COMMANDS, ...HERD_COMMANDS, ...workerCommands];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}
