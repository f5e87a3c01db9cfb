// Every worker that exists, as data: name, summary, default group and a loader. Importing this
// module imports no worker (DESIGN §6 rule 3); `load()` imports exactly one.
import type { WorkerDefinition } from './worker.ts';
import type { OptionSpec } from '../cli/args.ts';

export interface WorkerEntry {
  readonly name: string;
  readonly summary: string;
  /** The group that hosts it in the default `grouped` layout. */
  readonly group: string;
  /** Options accepted by `decnet <worker>`; they become ctx.config. */
  readonly options?: readonly OptionSpec[];
  /** Diagnostic workers are not part of the default fleet. */
  readonly hidden?: boolean;
  /** The worker contains the broker: its process reaches the bus in-process ('local:'). */
  readonly providesBus?: boolean;
  /** Linux capabilities its process needs under systemd (e.g. CAP_NET_BIND_SERVICE). */
  readonly capabilities?: readonly string[];
  load(): Promise<WorkerDefinition>;
}

export const WORKERS: readonly WorkerEntry[] = [
  {
    name: 'bus',
    summary: 'the service bus broker on a UNIX socket',
    group: 'bus',
    providesBus: true,
    options: [
      { name: 'socket', short: 's', type: 'string', value: 'PATH', summary: 'socket path (default: $DECNET_BUS_SOCKET or <run dir>/bus.sock)' },
      { name: 'group', short: 'g', type: 'string', value: 'NAME', summary: 'give the socket to this group (mode 0660)', default: 'decnet' },
      { name: 'heartbeat', type: 'number', value: 'SECONDS', summary: 'interval of system.bus.health', default: 10 },
    ],
    load: () => import('../bus/broker-worker.ts').then((m) => m.default),
  },
  {
    name: 'deckies',
    summary: 'the decoy host: runs the deployed deckies and records every interaction',
    group: 'deckies',
    capabilities: ['CAP_NET_BIND_SERVICE'],
    options: [{ name: 'plan', type: 'string', value: 'FILE', summary: 'deploy plan (default: $DECNET_DEPLOY_PLAN or <data dir>/deploy/plan.json)' }],
    load: () => import('../deckies/worker.ts').then((m) => m.default),
  },
  {
    name: 'idle',
    summary: 'does nothing but heartbeat (measures the cost of a host)',
    group: 'diagnostics',
    hidden: true,
    load: () => import('./idle-worker.ts').then((m) => m.default),
  },
];

export function findWorker(name: string): WorkerEntry | undefined {
  return WORKERS.find((w) => w.name === name);
}

export function workerNames(): string[] {
  return WORKERS.map((w) => w.name);
}
