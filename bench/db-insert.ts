// Data-layer benchmark: batched log insert (the ingester's hot path) on SQLite and PostgreSQL.
// Reports rows/s, per-batch time and the event-loop delay of the writing process while it runs
// (perf_hooks.monitorEventLoopDelay). Prints tables; never fails on timing.
// Each case runs BENCH_RUNS times (default 3) on a fresh database; the run with the median rows/s
// is shown. CPU ms per 1,000 rows counts every thread of the process (with the checkpointer).
// Run: node bench/db-insert.ts   (BENCH_ROWS, BENCH_RUNS, BENCH_PG_URL or DECNET_TEST_PG_URL to change)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/connection.ts';
import { appendLogs, type LogEventInput } from '../src/db/logs/repo.ts';
import { table } from './lib/measure.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const REPEATS = Number(process.env.BENCH_RUNS ?? 3);
const PG_URL = process.env.BENCH_PG_URL ?? process.env.DECNET_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

type Mix = 'skewed' | 'uniform';

/**
 * Synthetic honeypot traffic. `skewed`: 80 % of events from 50 busy sources (brute-forcers), the
 * rest from 5,000 others; `uniform`: every event from one of 5,000 sources at random (the worst
 * case for the attacker_ip index).
 */
function makeEvents(count: number, mix: Mix, start: number): LogEventInput[] {
  const events: LogEventInput[] = [];
  for (let i = 0; i < count; i++) {
    const n = start + i;
    const source = mix === 'skewed' && Math.random() < 0.8 ? Math.floor(Math.random() * 50) : 50 + Math.floor(Math.random() * 5000);
    const ip = `198.${18 + (source >> 16)}.${(source >> 8) & 255}.${source & 255}`;
    const ts = new Date(1_714_000_000_000 + n * 10).toISOString();
    const service = ['ssh', 'http', 'smb', 'telnet', 'mysql'][n % 5];
    const user = ['root', 'admin', 'ubuntu', 'oracle'][n % 4];
    events.push({
      ts,
      decky: `decky-${n % 20}`,
      service,
      event_type: n % 7 === 0 ? 'connect' : 'auth_attempt',
      attacker_ip: ip,
      src_port: 32_768 + (n % 28_000),
      dst_ip: `10.0.0.${1 + (n % 20)}`,
      dst_port: 22,
      fields: { username: user, secret_b64: Buffer.from(`pw${n}`).toString('base64'), client: 'SSH-2.0-libssh_0.9.6' },
      msg: `login attempt ${user}`,
      raw_line: `<38>1 ${ts} decky-${n % 20} ${service} - auth_attempt [decnet@55555 src_ip="${ip}" src_port="${32_768 + (n % 28_000)}" username="${user}" secret_b64="${Buffer.from(`pw${n}`).toString('base64')}"] login attempt ${user}`,
    });
  }
  return events;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

interface Result {
  dialect: string;
  mix: Mix;
  batch: number;
  rowsPerSec: number;
  cpuPerKRows: number;
  batchP50: number;
  batchP99: number;
  batchMax: number;
  loopP99: number;
  loopMax: number;
}

async function run(url: string, dialect: string, mix: Mix, batch: number): Promise<Result> {
  const db = await openDatabase(url);
  try {
    // generation is not what is measured: build every batch first
    const batches: LogEventInput[][] = [];
    for (let done = 0; done < ROWS; done += batch) batches.push(makeEvents(Math.min(batch, ROWS - done), mix, done));
    const times: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    let inserted = 0;
    for (const events of batches) {
      const t0 = performance.now();
      inserted += (await appendLogs(db, events)).inserted;
      times.push(performance.now() - t0);
      await new Promise((r) => setImmediate(r)); // an ingester goes back to its input between batches
    }
    const elapsed = performance.now() - started;
    const cpu = process.cpuUsage(cpu0);
    loop.disable();
    if (inserted !== ROWS) throw new Error(`inserted ${inserted} of ${ROWS}`);
    times.sort((a, b) => a - b);
    return {
      dialect,
      mix,
      batch,
      rowsPerSec: Math.round((ROWS / elapsed) * 1000),
      cpuPerKRows: (cpu.user + cpu.system) / 1000 / (ROWS / 1000),
      batchP50: pct(times, 0.5),
      batchP99: pct(times, 0.99),
      batchMax: times[times.length - 1],
      loopP99: loop.percentile(99) / 1e6,
      loopMax: loop.max / 1e6,
    };
  } finally {
    await db.close();
  }
}

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function median(runOnce: () => Promise<Result>): Promise<Result> {
  const runs: Result[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await runOnce());
  runs.sort((a, b) => a.rowsPerSec - b.rowsPerSec);
  return runs[Math.floor(runs.length / 2)];
}

const loadBefore = loadavg()[0];
const results: Result[] = [];
const cases: [Mix, number][] = [
  ['skewed', 100],
  ['skewed', 500],
  ['uniform', 500],
];
for (const [mix, batch] of cases) {
  results.push(
    await median(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-db-'));
      try {
        return await run(`sqlite:${join(dir, 'decnet.db')}`, 'sqlite', mix, batch);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
  );
}
if (await postgresReachable()) {
  for (const [mix, batch] of cases) {
    let attempt = 0;
    results.push(
      await median(async () => {
        const schema = `decnet_bench_${process.pid}_${batch}_${mix}_${attempt++}`;
        const url = new URL(PG_URL);
        url.searchParams.set('schema', schema);
        try {
          return await run(url.toString(), 'postgres', mix, batch);
        } finally {
          const client = new pg.Client({ connectionString: PG_URL });
          await client.connect();
          await client.query(`drop schema if exists "${schema}" cascade`);
          await client.end();
        }
      }),
    );
  }
} else {
  process.stdout.write(`PostgreSQL not reachable at ${PG_URL}: its rows are skipped\n\n`);
}

const ms = (v: number) => v.toFixed(1);
process.stdout.write(
  `Batched log insert, ${ROWS.toLocaleString('en')} rows per case, median of ${REPEATS} runs (node ${process.version}; load average ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after)\n\n`,
);
process.stdout.write(
  table(
    ['dialect', 'traffic', 'batch', 'rows/s', 'CPU ms / 1k rows', 'batch p50 ms', 'batch p99 ms', 'batch max ms', 'loop delay p99 ms', 'loop delay max ms'],
    results.map((r) => [r.dialect, r.mix, r.batch, r.rowsPerSec.toLocaleString('en'), ms(r.cpuPerKRows), ms(r.batchP50), ms(r.batchP99), ms(r.batchMax), ms(r.loopP99), ms(r.loopMax)]),
  ),
);
