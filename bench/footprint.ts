// Footprint benchmark (issue: fleet core): PSS of an idle standalone worker, of a supervise host with
// 10 idle workers, and of the whole fleet in each layout, next to an idle `node` measured in the
// same run. Run: `npm run bench:footprint` (builds nothing; run `npm run build` first).
// Knobs: BENCH_RUNS (3), BENCH_LATER_S (120: one more reading of the standalone worker that long after
// it started; 0 skips it), BENCH_LAYOUTS ('isolated grouped single'; '' skips the fleets).
import { join } from 'node:path';
import { listHostStatesIn } from './lib/hosts.ts';
import { IDLE_SCRIPT } from '../src/fleet/baseline.ts';
import { BIN, NODE_FLAGS, ROOT, ensureBuilt, mb, median, sandbox, spawnNode, steadyMemory, stop, table, waitFor } from './lib/measure.ts';
import { existsSync } from 'node:fs';
import { readMemory } from '../src/fleet/memory.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Bundles the idle-host fixture exactly as the CLI is bundled (same script, code-split), so lazily
 * imported transports and the database stay out of the process as they do in production. */
async function bundleIdleHost(outdir: string): Promise<string> {
  const { buildBundle } = (await import(join(ROOT, 'scripts/build.mjs'))) as { buildBundle(o: object): Promise<unknown> };
  await buildBundle({ entryPoints: { 'idle-host': join(ROOT, 'bench/fixtures/idle-host.ts') }, outdir, metafile: false });
  return join(outdir, 'idle-host.js');
}

/** An idle `node` with the fleet's flags, running while the subject runs, so both see the same
 * sharing of the node binary's pages (PSS splits shared pages among the processes mapping them). */
function startIdleNode(env: NodeJS.ProcessEnv) {
  return spawnNode([...NODE_FLAGS, '-e', IDLE_SCRIPT], env);
}

interface Pair {
  idle: number;
  subject: number;
}

async function withBroker<T>(fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const box = sandbox();
  const broker = spawnNode([...NODE_FLAGS, BIN, 'bus'], box.env);
  try {
    await waitFor(() => existsSync(box.socket), 15_000, 'the broker');
    return await fn(box.env);
  } finally {
    await stop(broker);
    box.cleanup();
  }
}

/** Reads both at steady state, or `laterS` seconds after the subject started when given. */
async function measureAgainstIdle(args: string[], laterS?: number): Promise<Pair> {
  return withBroker(async (env) => {
    const idle = startIdleNode(env);
    const subject = spawnNode([...NODE_FLAGS, ...args], env);
    const started = Date.now();
    try {
      let [i, s] = await steadyMemory([idle.pid!, subject.pid!]);
      if (laterS !== undefined) {
        await new Promise((r) => setTimeout(r, Math.max(0, started + laterS * 1000 - Date.now())));
        [i, s] = await steadyMemory([idle.pid!, subject.pid!]);
      }
      return { idle: i.pss, subject: s.pss };
    } finally {
      await stop(subject);
      await stop(idle);
    }
  });
}

interface FleetReading {
  processes: { name: string; pss: number; workers: string[] }[];
  total: number;
  idle: number;
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
    const idle = startIdleNode(box.env);
    try {
      const mems = await steadyMemory([idle.pid!, ...hosts.map((h) => h.pid)]);
      const processes = hosts.map((h, i) => ({ name: h.role === 'fleet' ? 'up (launcher)' : h.name, pss: mems[i + 1].pss, workers: h.workers.map((w) => w.name) }));
      return { processes, total: processes.reduce((s, p) => s + p.pss, 0), idle: mems[0].pss };
    } finally {
      await stop(idle);
    }
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
  const bundle = await bundleIdleHost(join(box.root, 'bundle'));
  const standalone: Pair[] = [];
  const host10: Pair[] = [];
  for (let i = 0; i < RUNS; i++) {
    standalone.push(await measureAgainstIdle([BIN, 'idle']));
    host10.push(await measureAgainstIdle([bundle, '10']));
    process.stderr.write(`run ${i + 1}/${RUNS}: standalone worker ${mb(standalone[i].subject)} MB (idle node ${mb(standalone[i].idle)}), 10-worker host ${mb(host10[i].subject)} MB (idle node ${mb(host10[i].idle)})\n`);
  }
  // Idle for longer: what the worker holds once its timers have run for a while.
  const LATER_S = Number(process.env.BENCH_LATER_S ?? 120);
  const later = LATER_S > 0 ? await measureAgainstIdle([BIN, 'idle'], LATER_S) : undefined;
  box.cleanup();
  const over = (pairs: Pair[]) => median(pairs.map((p) => p.subject - p.idle));
  const ratio = (pairs: Pair[]) => median(pairs.map((p) => p.subject / p.idle));
  const idle = median([...standalone, ...host10].map((p) => p.idle));
  let out = `## Footprint (PSS, median of ${RUNS} runs; ${process.version}; each subject measured while an idle node runs beside it)\n\n`;
  out += table(
    ['process', 'PSS MB', 'over idle node MB', 'ratio', 'target'],
    [
      ['idle `node` (same flags)', mb(idle), '0.0', '1.00', '-'],
      ['`decnet idle` (standalone worker)', mb(median(standalone.map((p) => p.subject))), mb(over(standalone)), ratio(standalone).toFixed(2), '≤ 4 MB over'],
      ...(later ? [[`\`decnet idle\` after ${LATER_S} s (one run)`, mb(later.subject), mb(later.subject - later.idle), (later.subject / later.idle).toFixed(2), '-']] : []),
      ['`supervise` host, 10 idle workers', mb(median(host10.map((p) => p.subject))), mb(over(host10)), ratio(host10).toFixed(2), '≤ 8 MB over'],
    ],
  );
  // BENCH_LAYOUTS='grouped' (or '' for none) measures only those layouts.
  for (const layout of (process.env.BENCH_LAYOUTS ?? 'isolated grouped single').split(' ').filter(Boolean)) {
    const readings: FleetReading[] = [];
    for (let i = 0; i < RUNS; i++) readings.push(await measureFleet(layout));
    const total = median(readings.map((r) => r.total));
    const idleHere = median(readings.map((r) => r.idle));
    const last = readings[readings.length - 1];
    out += `\n### Fleet, layout \`${layout}\`: ${last.processes.length} processes, total PSS ${mb(total)} MB (median), ${(total / idleHere).toFixed(2)} x an idle node (${mb(idleHere)} MB)\n\n`;
    out += table(
      ['process', 'PSS MB (last run)', 'workers'],
      last.processes.map((p) => [p.name, mb(p.pss), p.workers.join(', ') || '-']),
    );
  }
  process.stdout.write(out);
}

await main();
