// Data-layer footprint: the PSS a process pays for the data layer of one domain (logs) on SQLite
// (and on PostgreSQL, when reachable), bundled with esbuild and code-split like dist/, compared
// with an idle `node` started in the same run. Run: node bench/db-footprint.ts
import { build } from 'esbuild';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { IDLE_SCRIPT } from '../src/fleet/baseline.ts';
import { openDatabase } from '../src/db/connection.ts';
import type { MemoryReading } from '../src/fleet/memory.ts';
import { NODE_FLAGS, ROOT, mb, median, steadyMemory, stop, table } from './lib/measure.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PG_URL = process.env.BENCH_PG_URL ?? process.env.DECNET_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function bundle(outdir: string): Promise<{ entry: string; bytes: Record<string, number> }> {
  const result = await build({
    entryPoints: { 'db-logs': join(ROOT, 'bench/fixtures/db-logs-entry.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    metafile: true,
    logLevel: 'warning',
    external: ['*.node', 'cpu-features', 'pg-native'],
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  });
  const bytes: Record<string, number> = {};
  for (const [file, out] of Object.entries(result.metafile.outputs)) if (file.endsWith('.js')) bytes[file] = out.bytes;
  return { entry: join(outdir, 'db-logs.js'), bytes };
}

/** Starts a process and resolves once it printed "ready" (the idle node prints nothing: once spawned). */
function startReady(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    if (args[0] === '-e') child.once('spawn', () => resolve(child));
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`)));
  });
}

async function measure(args: string[]): Promise<MemoryReading> {
  const child = await startReady(args);
  try {
    const [m] = await steadyMemory([child.pid!]);
    return m;
  } finally {
    await stop(child, 'SIGKILL');
  }
}

async function pgUrl(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
  const schema = `decnet_bench_fp_${process.pid}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-dbfp-'));
const postgres = await pgUrl();
try {
  const { entry, bytes } = await bundle(join(dir, 'out'));
  const sqliteUrl = `sqlite:${join(dir, 'decnet.db')}`;
  // migrate first: a worker normally finds the schema up to date (and then loads no DDL)
  await (await openDatabase(sqliteUrl)).close();
  if (postgres) await (await openDatabase(postgres.url)).close();

  const cases: [string, string[]][] = [
    ['idle node', ['-e', IDLE_SCRIPT]],
    ['bundle, no database', [entry]],
    ['logs repository on SQLite', [entry, sqliteUrl]],
    ...(postgres ? ([['logs repository on PostgreSQL', [entry, postgres.url]]] as [string, string[]][]) : []),
  ];
  const readings = new Map<string, MemoryReading[]>();
  for (let i = 0; i < RUNS; i++) {
    for (const [label, args] of cases) (readings.get(label) ?? readings.set(label, []).get(label)!).push(await measure(args));
  }
  const med = (label: string, key: keyof MemoryReading) => median(readings.get(label)!.map((r) => r[key]));
  const idle = med('idle node', 'pss');
  const idleUss = med('idle node', 'uss');
  process.stdout.write(`Data-layer import cost, PSS in MB, median of ${RUNS} runs (node ${process.version}, flags ${NODE_FLAGS.join(' ')})\n\n`);
  process.stdout.write(
    table(
      ['process', 'PSS', 'PSS anon', 'USS', 'PSS - idle node', 'USS - idle node'],
      cases.map(([label]) => [
        label,
        mb(med(label, 'pss')),
        mb(med(label, 'pssAnon')),
        mb(med(label, 'uss')),
        label === 'idle node' ? '-' : `+${mb(med(label, 'pss') - idle)}`,
        label === 'idle node' ? '-' : `+${mb(med(label, 'uss') - idleUss)}`,
      ]),
    ),
  );
  process.stdout.write('\nBundle chunks (bytes):\n\n');
  process.stdout.write(table(['chunk', 'bytes'], Object.entries(bytes).map(([f, b]) => [f.replace(/^.*\/out\//, ''), b.toLocaleString('en')])));
  process.stdout.write(`\nSQLite file after migration: ${(statSync(join(dir, 'decnet.db')).size / 1024).toFixed(0)} KiB\n`);
} finally {
  await postgres?.drop();
  rmSync(dir, { recursive: true, force: true });
}
