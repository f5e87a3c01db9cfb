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
  /** Its command also has actions (`decnet ttp export`): the command table defines that command. */
  readonly commandHasActions?: boolean;
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
    name: 'ingester',
    summary: 'tails the event logs into the database (exactly once) and announces what it stored',
    group: 'capture',
    options: [
      { name: 'logs', type: 'list', value: 'FILE,…', summary: 'event logs to tail (default: the decoy log and the collector log in <data dir>/events/)' },
      { name: 'batch', type: 'number', value: 'LINES', summary: 'lines per transaction', default: 2000 },
      { name: 'poll', type: 'number', value: 'MS', summary: 'how often to look for new lines when no file change was signalled', default: 250 },
    ],
    load: () => import('../pipeline/ingester-worker.ts').then((m) => m.default),
  },
  {
    name: 'collector',
    summary: 'receives RFC 5424 syslog from other sources and normalises it into the collector log',
    group: 'capture',
    options: [
      { name: 'listen', type: 'list', value: 'ADDR', summary: 'udp://HOST:PORT and/or tcp://HOST:PORT to receive on, or none (default: $DECNET_COLLECTOR_LISTEN or udp and tcp on 127.0.0.1:5514)' },
      { name: 'drop-apps', type: 'list', value: 'APP,…', summary: 'APP-NAMEs whose lines are dropped as host noise (default: sshd,pam_unix,sudo,su,cron,CRON,systemd,kernel,rsyslogd,dbus-daemon)' },
    ],
    load: () => import('../pipeline/collector-worker.ts').then((m) => m.default),
  },
  {
    name: 'profiler',
    summary: 'builds per-IP attacker profiles and behaviour from the stored events',
    group: 'intel',
    options: [
      { name: 'interval', type: 'number', value: 'SECONDS', summary: 'fallback tick when no ingest notice arrives on the bus', default: 30 },
      { name: 'batch', type: 'number', value: 'ROWS', summary: 'events per transaction', default: 1000 },
    ],
    load: () => import('../intel/profiler/profiler-worker.ts').then((m) => m.default),
  },
  {
    name: 'reuse-correlator',
    summary: 'finds the same credential tried across deckies, services or source IPs',
    group: 'intel',
    options: [
      { name: 'interval', type: 'number', value: 'SECONDS', summary: 'fallback tick when no credential notice arrives on the bus', default: 60 },
      { name: 'min-targets', type: 'number', value: 'N', summary: 'distinct (decky, service) pairs that make a reuse', default: 2 },
      { name: 'min-sources', type: 'number', value: 'N', summary: 'distinct source IPs that make a reuse (0: off)', default: 2 },
    ],
    load: () => import('../intel/reuse/reuse-worker.ts').then((m) => m.default),
  },
  {
    name: 'ttp',
    summary: 'tags stored events and shell commands with MITRE ATT&CK techniques',
    group: 'intel',
    commandHasActions: true,
    options: [
      { name: 'poll-interval', type: 'number', value: 'SECONDS', summary: 'fallback tick when no ingest notice arrives on the bus', default: 60 },
      { name: 'batch', type: 'number', value: 'ROWS', summary: 'log rows per transaction', default: 500 },
      { name: 'anchor-wait', type: 'number', value: 'SECONDS', summary: 'how long a tag waits for the profiler to record its attacker before it creates the row itself', default: 600 },
    ],
    load: () => import('../intel/ttp/worker.ts').then((m) => m.default),
  },
  {
    name: 'enrich',
    summary: 'country and AS of every attacker (offline data) and optional threat-intel look-ups',
    group: 'herd',
    options: [
      { name: 'poll-interval', type: 'number', value: 'SECONDS', summary: 'fallback tick when no attacker notice arrives on the bus', default: 60 },
      { name: 'ttl-hours', type: 'number', value: 'HOURS', summary: 'how long a provider\'s answer is kept before it is asked again', default: 24 },
      { name: 'batch', type: 'number', value: 'N', summary: 'attackers looked up per pass with the online providers', default: 50 },
    ],
    load: () => import('../intel/enrich/worker.ts').then((m) => m.default),
  },
  {
    name: 'webhook',
    summary: 'delivers bus events to subscribed HTTP endpoints, signed with HMAC-SHA256',
    group: 'herd',
    commandHasActions: true,
    load: () => import('../notify/webhook-worker.ts').then((m) => m.default),
  },
  {
    name: 'api',
    summary: 'REST API, live event stream and dashboard (http://127.0.0.1:8000 by default)',
    group: 'api',
    options: [
      { name: 'host', type: 'string', value: 'ADDR', summary: 'address to listen on (default: $DECNET_API_HOST or 127.0.0.1)' },
      { name: 'port', type: 'number', value: 'PORT', summary: 'port to listen on (default: $DECNET_API_PORT or 8000; 0 picks a free one)' },
      { name: 'allow-remote', type: 'boolean', summary: 'allow a non-loopback address (put a TLS reverse proxy in front)' },
    ],
    load: () => import('../api/worker.ts').then((m) => m.default),
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
