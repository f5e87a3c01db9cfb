// Footprint benchmark (issue: fleet core): PSS of an idle standalone worker, of a supervise host with
// 10 idle workers, and of the whole fleet in each layout, next to an idle `node` measured in the
// same run. Run: `npm run bench:footprint` (builds nothing; run `npm run build` first).
import { build } from 'esbuild';
import { join } from 'node:path';
import { listHostStatesIn } from './lib/hosts.ts';
import { measureIdleNode } from '../src/fleet/baseline.ts';
import { BIN, NODE_FLAGS, ROOT, ensureBuilt, mb, median, sandbox, spawnNode, steadyMemory, stop, table, waitFor } from './lib/measure.ts';
import { existsSync } from 'node:fs';
import { readMemory } from '../src/fleet/memory.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function bundleIdleHost(outdir: string): Promise<string> {
  const outfile = join(outdir, 'idle-host.js');
  await build({
    entryPoints: [join(ROOT, 'bench/fixtures/idle-host.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    logLevel: 'warning',
    external: ['*.node', 'cpu-features', 'pg-native'],
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
  });
  return outfile;
}

async function withBroker<T>(fn: (env: NodeJS.ProcessEnv, root: string) => Promise<T>): Promise<T> {
  const box = sandbox();
  const broker = spawnNode([...NODE_FLAGS, BIN, 'bus'], box.env);
  try {
    await waitFor(() => existsSync(box.socket), 15_000, 'the broker');
    return await fn(box.env, box.root);
  } finally {
    await stop(broker);
    box.cleanup();
  }
}

async function measureStandaloneIdle(): Promise<number> {
  return withBroker(async (env) => {
    const child = spawnNode([...NODE_FLAGS, BIN, 'idle'], env);
    try {
      const [m] = await steadyMemory([child.pid!]);
      return m.pss;
    } finally {
      await stop(child);
    }
  });
}

async function measureIdleHost(bundle: string, workers: number): Promise<number> {
  return withBroker(async (env) => {
    const child = spawnNode([...NODE_FLAGS, bundle, String(workers)], env);
    try {
      const [m] = await steadyMemory([child.pid!]);
      return m.pss;
    } finally {
      await stop(child);
    }
  });
}

interface FleetReading {
  processes: { name: string; pss: number; workers: string[] }[];
  total: number;
}

async function measureFleet(layout: string): Promise<FleetReading> {
  const box = sandbox();
  const up = spawnNode([...NODE_FLAGS, BIN, 'up', '--layout', layout, '--quiet'], box.env);
  try {
    const runDir = box.env.DECNET_RUN_DIR!;
    const expected = JSON.parse(
      (await import('node:child_process')).execFileSync(process.execPath, [BIN, 'fleet', '--layout', layout, '--json'], { env: box.env, encoding: 'utf8' }),
    ).processes.length as number;
    await waitFor(() => {
      const hosts = listHostStatesIn(runDir).filter((h) => h.role !== 'fleet');
      return hosts.length === expected && hosts.every((h) => h.workers.every((w) => w.state === 'running'));
    }, 60_000, `${layout} fleet to be up`);
    const hosts = listHostStatesIn(runDir);
    const pids = hosts.map((h) => h.pid);
    const mems = await steadyMemory(pids);
    const processes = hosts.map((h, i) => ({ name: h.role === 'fleet' ? 'up (launcher)' : h.name, pss: mems[i].pss, workers: h.workers.map((w) => w.name) }));
    return { processes, total: processes.reduce((s, p) => s + p.pss, 0) };
  } finally {
    await stop(up, 'SIGINT');
    const leftovers = listHostStatesIn(box.env.DECNET_RUN_DIR!).filter((h) => readMemory(h.pid));
    if (leftovers.length) process.stderr.write(`warning: processes left running after Ctrl-C: ${leftovers.map((h) => h.name).join(', ')}\n`);
    box.cleanup();
  }
}

async function main(): Promise<void> {
  ensureBuilt();
  const box = sandbox();
  const bundle = await bundleIdleHost(box.root);
  const rows: { idle: number; standalone: number; host10: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const idle = (await measureIdleNode(NODE_FLAGS))!.pss;
    const standalone = await measureStandaloneIdle();
    const host10 = await measureIdleHost(bundle, 10);
    rows.push({ idle, standalone, host10 });
    process.stderr.write(`run ${i + 1}/${RUNS}: idle node ${mb(idle)} MB, standalone worker ${mb(standalone)} MB, 10-worker host ${mb(host10)} MB\n`);
  }
  box.cleanup();
  const idle = median(rows.map((r) => r.idle));
  const standalone = median(rows.map((r) => r.standalone));
  const host10 = median(rows.map((r) => r.host10));
  let out = `## Footprint (PSS, median of ${RUNS} runs; ${process.version})\n\n`;
  out += table(
    ['process', 'PSS MB', 'over idle node MB', 'ratio', 'target'],
    [
      ['idle `node` (same flags)', mb(idle), '0.0', '1.00', '-'],
      ['`decnet idle` (standalone worker)', mb(standalone), mb(standalone - idle), (standalone / idle).toFixed(2), '≤ 4 MB over'],
      ['`supervise` host, 10 idle workers', mb(host10), mb(host10 - idle), (host10 / idle).toFixed(2), '≤ 8 MB over'],
    ],
  );
  for (const layout of ['isolated', 'grouped', 'single']) {
    const readings: FleetReading[] = [];
    for (let i = 0; i < RUNS; i++) readings.push(await measureFleet(layout));
    const total = median(readings.map((r) => r.total));
    const last = readings[readings.length - 1];
    out += `\n### Fleet, layout \`${layout}\`: ${last.processes.length} processes, total PSS ${mb(total)} MB (median), ${(total / idle).toFixed(2)} x an idle node\n\n`;
    out += table(
      ['process', 'PSS MB (last run)', 'workers'],
      last.processes.map((p) => [p.name, mb(p.pss), p.workers.join(', ') || '-']),
    );
  }
  process.stdout.write(out);
}

await main();
