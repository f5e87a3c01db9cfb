// Herd benchmark: PSS of the `herd` process (enrich + webhook, `decnet supervise herd`) idle,
// then after IPv4 and IPv6 look-ups, both in the process that compiles the offline tables (first
// start) and in a later one that finds them compiled, next to an idle `node` measured in the same
// run; plus the tables' sizes, compile time and look-up cost.
// Run: `npm run build && node bench/herd-footprint.ts` (BENCH_RUNS, default 3).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { IDLE_SCRIPT } from '../src/fleet/baseline.ts';
import { BIN, NODE_FLAGS, ensureBuilt, mb, median, sandbox, spawnNode, steadyMemory, stop, table, waitFor } from './lib/measure.ts';
import { listHostStatesIn } from './lib/hosts.ts';
import { openDatabase } from '../src/db/connection.ts';
import { getAttacker, upsertAttacker } from '../src/db/attackers/repo.ts';
import { GeoIndex } from '../src/intel/enrich/geo.ts';
import { openMemberBus } from '../src/bus/connect.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Reading {
  idle: number;
  herdIdle: number;
  /** After an IPv4 and an IPv6 attacker, in the process that compiled the tables. */
  compiled: number;
  /** The same in a fresh process that found the tables compiled. */
  warm: number;
}

async function runHerd(env: NodeJS.ProcessEnv, socket: string, idlePid: number, ips: string[], db: Awaited<ReturnType<typeof openDatabase>>): Promise<{ before: number; after: number }> {
  const herd = spawnNode([...NODE_FLAGS, '--max-old-space-size=120', BIN, 'supervise', 'herd'], env);
  try {
    await waitFor(() => listHostStatesIn(env.DECNET_RUN_DIR!).some((h) => h.pid === herd.pid && h.workers.length === 2 && h.workers.every((w) => w.state === 'running')), 30_000, 'the herd process');
    const [, before] = await steadyMemory([idlePid, herd.pid!]);
    // Announce new attackers as the profiler does, so enrich looks them up at once.
    const bus = await openMemberBus('bench', `unix:${socket}`);
    try {
      const at = new Date().toISOString();
      for (const ip of ips) {
        const { uuid } = await upsertAttacker(db, { ip, first_seen: at, last_seen: at });
        bus.publish('attacker.observed', { attacker_ip: ip });
        await waitFor(async () => (await getAttacker(db, uuid))?.asn != null, 120_000, `the look-up of ${ip}`);
      }
    } finally {
      await bus.close();
    }
    const [, after] = await steadyMemory([idlePid, herd.pid!]);
    return { before: before!.pss, after: after!.pss };
  } finally {
    await stop(herd);
  }
}

async function once(): Promise<Reading> {
  const box = sandbox();
  const env: NodeJS.ProcessEnv = { ...box.env, DECNET_INTEL_PROVIDERS: 'none', DECNET_HEALTH_INTERVAL_MS: '1000' };
  const db = await openDatabase(env.DECNET_DB_URL);
  const broker = spawnNode([...NODE_FLAGS, BIN, 'bus'], env);
  const idle = spawnNode([...NODE_FLAGS, '-e', IDLE_SCRIPT], env);
  try {
    await waitFor(() => existsSync(box.socket), 15_000, 'the broker');
    const first = await runHerd(env, box.socket, idle.pid!, ['8.8.8.8', '2001:4860:4860::8888'], db);
    const second = await runHerd(env, box.socket, idle.pid!, ['1.1.1.1', '2606:4700:4700::1111'], db);
    const [i] = await steadyMemory([idle.pid!]);
    return { idle: i!.pss, herdIdle: median([first.before, second.before]), compiled: first.after, warm: second.after };
  } finally {
    await stop(idle);
    await stop(broker);
    await db.close();
    box.cleanup();
  }
}

async function tables(): Promise<string> {
  const box = sandbox();
  try {
    const geo = new GeoIndex({ country: true, asn: true, cacheDir: join(box.root, 'geo') });
    await geo.lookup('8.8.8.8');
    await geo.lookup('2001:4860:4860::8888');
    const snap = geo.snapshot();
    const files = new Map(readdirSync(join(box.root, 'geo')).map((f) => [f.split('-')[0]!, statSync(join(box.root, 'geo', f)).size]));
    const rows = Object.entries(snap.open).map(([name, t]) => [name, t.ranges, mb(files.get(name)! / 1024), (t.memory_bytes / 1024).toFixed(0), snap.compiled[name] ?? '-']);
    const N = 20_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await geo.lookup(`${(i % 223) + 1}.${(i * 7) % 256}.${(i * 13) % 256}.${i % 254}`);
    const perLookup = ((performance.now() - t0) * 1000) / N;
    geo.release(true);
    return table(['table', 'ranges', 'file MB', 'in memory KB', 'compile ms'], rows) + `\nIPv4 look-up (country and AS, pread from the page cache): ${perLookup.toFixed(1)} µs each over ${N} addresses\n`;
  } finally {
    box.cleanup();
  }
}

async function main(): Promise<void> {
  ensureBuilt();
  const readings: Reading[] = [];
  for (let i = 0; i < RUNS; i++) {
    readings.push(await once());
    const r = readings[i]!;
    process.stderr.write(`run ${i + 1}/${RUNS}: herd idle ${mb(r.herdIdle)} MB, after compiling the tables ${mb(r.compiled)} MB, with compiled tables ${mb(r.warm)} MB (idle node ${mb(r.idle)} MB)\n`);
  }
  const m = (f: (r: Reading) => number) => median(readings.map(f));
  let out = `## Herd process (enrich + webhook), PSS, median of ${RUNS} runs; ${process.version}\n\n`;
  out += table(
    ['state', 'PSS MB', 'over idle node MB'],
    [
      ['idle `node` (same flags)', mb(m((r) => r.idle)), '0.0'],
      ['herd idle (no attacker yet, tables not loaded)', mb(m((r) => r.herdIdle)), mb(m((r) => r.herdIdle - r.idle))],
      ['herd after IPv4 + IPv6 look-ups, compiling the tables (first start)', mb(m((r) => r.compiled)), mb(m((r) => r.compiled - r.idle))],
      ['herd after IPv4 + IPv6 look-ups, tables compiled before', mb(m((r) => r.warm)), mb(m((r) => r.warm - r.idle))],
    ],
  );
  out += '\nCompiled tables live in <data dir>/geo; look-ups read them with pread (page cache, not process memory).\n\n### Offline tables\n\n' + (await tables());
  process.stdout.write(out);
}

await main();
