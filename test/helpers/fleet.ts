// A real fleet for end-to-end and browser tests: `decnet up` (the built CLI, grouped layout) in
// private data/run dirs, with the broker, the api (on a free port), the decoy host running SSH
// deckies on a fresh loopback /24, the capture workers (the collector on a free UDP port, for
// load), and the intel and herd workers. Plus SSH "attackers" that connect from their own
// loopback addresses in the same /24.
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI_BUILT, startProcess, stopProcess, testDirs, waitFor, type Proc, type TestDirs } from './env.ts';

const run = promisify(execFile);

export const ADMIN_PASSWORD = 'first-login-Passw0rd!';

export interface Fleet {
  url: string;
  dirs: TestDirs;
  /** The environment the fleet runs with (use it for `decnet …` commands against this fleet). */
  env: NodeJS.ProcessEnv;
  decky: { name: string; ip: string };
  deckies: { name: string; ip: string }[];
  /** The /24 the deckies live in, e.g. '127.170.33'. */
  net: string;
  /** Loopback address the SSH attacker connects from (unique to this run). */
  attackerIp: string;
  /** UDP port of the collector (RFC 5424 syslog in). */
  collectorPort: number;
  up: Proc;
  logs(): string;
  stop(): Promise<void>;
}

async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

/** The decoy host's live state says every listener of the decky listens (no probe connection: it would be an attacker). */
function deckyListening(runDir: string, name: string): boolean {
  try {
    const state = JSON.parse(readFileSync(join(runDir, 'deckies', 'state.json'), 'utf8')) as { deckies: { name: string; listeners: { status: string }[] }[] };
    const d = state.deckies.find((x) => x.name === name);
    return !!d && d.listeners.length > 0 && d.listeners.every((l) => l.status === 'listening');
  } catch {
    return false;
  }
}

export interface FleetOptions {
  /** Decky sections of the deploy INI (after [general]); default: one decky `web` with ssh. */
  deckies?: string;
}

export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  const dirs = testDirs('decnet-web-');
  const net = `127.${150 + (process.pid % 40)}.${Math.floor(Math.random() * 250) + 1}`;
  const env: NodeJS.ProcessEnv = {
    ...dirs.env,
    DECNET_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // Fast heartbeats, so the workers page sees a state change within a second or two.
    DECNET_HEALTH_INTERVAL_MS: '1000',
    DECNET_LOG_LEVEL: 'info',
  };
  const ini = join(dirs.root, 'deckies.ini');
  writeFileSync(ini, `[general]\nnet = ${net}.0/24\n\n${opts.deckies ?? '[web]\nservices = ssh\n\n[web.ssh]\nfail_delay_ms = 0\n'}`);
  const deployed = await run(process.execPath, [CLI_BUILT, 'deploy', '--config', ini, '--no-start', '--json'], { env });
  const plan = JSON.parse(deployed.stdout) as { deckies: { name: string; ip: string }[] };
  const decky = plan.deckies[0];

  const collectorPort = await freeUdpPort();
  const spec = join(dirs.root, 'fleet.ini');
  writeFileSync(
    spec,
    [
      '[fleet]',
      'layout = grouped',
      '[process bus]',
      'workers = bus',
      'memory_max = 96M',
      '[process api]',
      'workers = api',
      'memory_max = 192M',
      '[process deckies]',
      'workers = deckies',
      'memory_max = 192M',
      '[process capture]',
      'workers = ingester, collector',
      'memory_max = 128M',
      '[process intel]',
      'workers = profiler, reuse-correlator, ttp',
      'memory_max = 192M',
      '[process herd]',
      'workers = enrich, webhook',
      'memory_max = 160M',
      '[worker bus]',
      'heartbeat = 1',
      '[worker api]',
      'port = 0',
      '[worker collector]',
      `listen = udp://127.0.0.1:${collectorPort}`,
      '[worker profiler]',
      'interval = 2',
      '',
    ].join('\n'),
  );
  const up = startProcess([CLI_BUILT, 'up', '--fleet', spec, '--quiet'], env);
  const logs = () => {
    const dir = join(dirs.env.DECNET_DATA_DIR!, 'logs');
    const parts = [`--- decnet up ---\n${up.output()}`];
    for (const p of ['api', 'deckies', 'capture', 'intel', 'herd', 'bus']) {
      const f = join(dir, `${p}.log`);
      if (existsSync(f)) parts.push(`--- ${p}.log (tail) ---\n${readFileSync(f, 'utf8').split('\n').slice(-40).join('\n')}`);
    }
    return parts.join('\n');
  };
  const stop = async () => {
    await stopProcess(up, 'SIGINT', 30_000);
    dirs.cleanup();
  };
  try {
    const endpoint = join(dirs.env.DECNET_RUN_DIR!, 'api.json');
    const url = await waitFor(() => {
      if (up.child.exitCode !== null) throw new Error(`decnet up exited:\n${logs()}`);
      if (!existsSync(endpoint)) return undefined;
      try {
        return (JSON.parse(readFileSync(endpoint, 'utf8')) as { url: string }).url.replace(/\/$/, '');
      } catch {
        return undefined;
      }
    }, 60_000, 'the api worker to listen');
    await waitFor(async () => (await fetch(`${url}/api/v1/health`).catch(() => undefined))?.ok, 30_000, 'GET /api/v1/health to answer 200');
    for (const d of plan.deckies) await waitFor(() => deckyListening(dirs.env.DECNET_RUN_DIR!, d.name), 30_000, `decky ${d.name} on ${d.ip} to listen`);
    return { url, dirs, env, decky, deckies: plan.deckies, net, attackerIp: `${net}.250`, collectorPort, up, logs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
