// Event pipeline benchmark (issue 5), on the BUNDLED cli (`npm run build` first), SQLite:
//
//   A. sustained ingest: a pre-written event log of N events (a realistic mix: logins with secrets,
//      SSH hellos with HASSH, web requests with user agents, commands, connects) → `supervise
//      capture` → database; events/s from the first stored row to the last, plus the ingester's
//      event-loop delay; then `supervise intel` on that backlog: profiler events/s.
//   B. end-to-end latency at a steady rate (default 1,000 events/s for 30 s): from a line's
//      append to the decoy log until `attacker.scored` reports its attacker's profile includes it
//      (the profile is committed before that event is published, so this is an upper bound);
//      p50/p95/p99/max. PSS of the capture and intel processes idle and under that load, next to
//      an idle `node` measured in the same run.
//
//   node bench/pipeline.ts [--events 200000] [--runs 3] [--rate 1000] [--seconds 30] [--out bench/RESULTS-pipeline.md]
//
// Stage A runs --runs times (fresh database each); the table shows the median run by ingest rate
// and the range of all runs.
//
// Prints markdown tables (and writes them to --out); never fails on absolute numbers.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { ChildProcess } from 'node:child_process';
import { formatEvent, type EventInput } from '../src/pipeline/rfc5424.ts';
import { measureIdleNode } from '../src/fleet/baseline.ts';
import { readMemory, type MemoryReading } from '../src/fleet/memory.ts';
import { openMemberBus } from '../src/bus/connect.ts';
import { BIN, NODE_FLAGS, ROOT, ensureBuilt, mb, sandbox, spawnNode, steadyMemory, stop, table, waitFor, type Sandbox } from './lib/measure.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`--${name} needs a positive number\n`);
    process.exit(2);
  }
  return v;
}
const outIndex = process.argv.indexOf('--out');
const OUT = outIndex >= 0 ? process.argv[outIndex + 1] : join(ROOT, 'bench/RESULTS-pipeline.md');
const EVENTS = arg('events', 200_000);
const RATE = arg('rate', 1000);
const SECONDS = arg('seconds', 30);
const RUNS = Math.round(arg('runs', 3));
/** The old-space caps the shipped fleet spec gives these processes (75% of memory_max). */
const CAPTURE_FLAGS = [...NODE_FLAGS, '--max-old-space-size=96'];
const INTEL_FLAGS = [...NODE_FLAGS, '--max-old-space-size=144'];

const ATTACKERS = 200;
let seq = 0;

/** One event of the mix, for attacker `a`, stamped `ts`. */
function mixEvent(a: number, ts: string): EventInput {
  const n = seq++;
  const base = { ts, decky: `decky-${n % 8}`, service: 'ssh', src_ip: `203.0.${(a >> 8) & 255}.${a & 255}`, src_port: 1024 + (n % 60_000), dst_ip: '192.0.2.10', dst_port: 22 };
  const kind = n % 20;
  if (kind < 3) return { ...base, event: 'auth_attempt', fields: { username: ['root', 'admin', 'pi'][n % 3], auth_method: 'password', success: false }, secret: `pw-${n % 500}` };
  if (kind === 3) return { ...base, event: 'client_hello', fields: { client_version: `SSH-2.0-libssh2_1.${a % 5}`, hassh: 'b5752e36ba6c5979a575e43178908adf', hassh_algorithms: 'curve25519-sha256,ecdh-sha2-nistp256;aes128-ctr;hmac-sha2-256;none' } };
  if (kind < 8) return { ...base, service: 'http', dst_port: 80, event: 'request', fields: { method: 'GET', path: `/wp-login.php?x=${n}`, version: 'HTTP/1.1', user_agent: a % 2 ? 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)' : 'sqlmap/1.7', headers: '[["Host","decky"],["User-Agent","x"],["Accept","*/*"]]' } };
  if (kind < 11) return { ...base, event: 'command', fields: { command: `cat /etc/passwd; uname -a # ${n}`, cwd: '/root', user: 'root', mode: 'shell' } };
  if (kind < 16) return { ...base, event: 'connect' };
  return { ...base, event: 'disconnect', fields: { duration_ms: 1500, bytes_in: 300, bytes_out: 900, reason: 'closed' } };
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function dbCount(path: string, query: string): number {
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      return Number((db.prepare(query).get() as { n: number | bigint | null }).n ?? 0);
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Starts `decnet supervise <group>` (or the given command, e.g. a standalone worker) and waits until its workers run. */
async function startFleetPart(box: Sandbox, group: string, flags: string[], command = ['supervise', group]): Promise<ChildProcess> {
  const child = spawnNode([...flags, BIN, ...command], box.env);
  await waitFor(() => {
    try {
      const s = JSON.parse(readFileSync(join(box.env.DECNET_RUN_DIR!, 'hosts', `${group}.json`), 'utf8')) as { workers: { state: string }[] };
      return s.workers.every((w) => w.state === 'running');
    } catch {
      return false;
    }
  }, 30_000, `${group} running`);
  return child;
}

async function withBroker<T>(fn: (box: Sandbox) => Promise<T>): Promise<T> {
  const box = sandbox();
  box.env.DECNET_HEALTH_INTERVAL_MS = '1000';
  box.env.DECNET_COLLECTOR_LISTEN = '127.0.0.1:0';
  mkdirSync(join(box.env.DECNET_DATA_DIR!, 'events'), { recursive: true });
  const broker = spawnNode([...NODE_FLAGS, BIN, 'bus'], box.env);
  try {
    await waitFor(() => existsSync(box.socket), 15_000, 'the broker');
    return await fn(box);
  } finally {
    await stop(broker);
    box.cleanup();
  }
}

interface IngestResult {
  events: number;
  ingestRate: number;
  ingestSeconds: number;
  ingestCpuRate: number;
  profileCpuRate: number;
  loopDelayP99Max: number;
  profileRate: number;
  profileSeconds: number;
}

async function sustainedIngest(): Promise<IngestResult> {
  return withBroker(async (box) => {
    const log = join(box.env.DECNET_DATA_DIR!, 'events', 'decoy.log');
    const dbPath = join(box.env.DECNET_DATA_DIR!, 'decnet.db');
    const t0 = Date.UTC(2024, 4, 1);
    const chunk: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      chunk.push(formatEvent(mixEvent(i % ATTACKERS, new Date(t0 + i * 5).toISOString())));
      if (chunk.length === 10_000) appendFileSync(log, chunk.splice(0).join('\n') + '\n');
    }
    if (chunk.length) appendFileSync(log, chunk.join('\n') + '\n');
    const bus = await openMemberBus('bench-pipeline', `unix:${box.socket}`);
    let delayMax = 0;
    const health = bus.subscribe('system.ingester.health');
    void (async () => {
      for await (const e of health) delayMax = Math.max(delayMax, Number(e.payload.el_delay_p99_ms ?? 0));
    })();
    // Progress comes from the ingester's own commit notices (system.log, published after each
    // commit), so the measurement adds no reader to the database while it is being written.
    let first = 0;
    let firstCount = 0;
    let firstCpu = 0;
    let flushed = 0;
    let last = 0;
    const notices = bus.subscribe('system.log', { queueSize: 100_000 });
    await bus.connection.flush();
    const capture = spawnNode([...CAPTURE_FLAGS, BIN, 'supervise', 'capture'], box.env);
    await new Promise<void>((resolve) => {
      void (async () => {
        for await (const e of notices) {
          if (e.payload.component !== 'ingester') continue;
          flushed += Number(e.payload.flushed);
          if (first === 0) {
            first = performance.now();
            firstCount = flushed;
            firstCpu = cpuSeconds(capture.pid!);
          }
          if (flushed >= EVENTS) {
            last = performance.now();
            resolve();
            break;
          }
        }
      })();
    });
    const ingestMs = last - first;
    const ingestCpu = cpuSeconds(capture.pid!) - firstCpu;
    const stored = dbCount(dbPath, 'select count(*) as n from logs');
    if (stored !== EVENTS) throw new Error(`the database holds ${stored} events, expected ${EVENTS}`);
    await new Promise((r) => setTimeout(r, 1500)); // one more heartbeat
    await stop(capture);
    // The profiler alone (standalone, as `decnet profiler`) on that backlog.
    const cursor = () => dbCount(dbPath, "select json_extract(value, '$.last_log_id') as n from state where key = 'profiler:cursor'");
    const started = performance.now();
    const profiler = await startFleetPart(box, 'profiler', INTEL_FLAGS, ['profiler']);
    await waitFor(async () => {
      await new Promise((r) => setTimeout(r, 450)); // a light poll: one read every half second
      return cursor() >= EVENTS;
    }, 600_000, 'the profiler to finish the backlog');
    const profileMs = performance.now() - started;
    const profileCpu = cpuSeconds(profiler.pid!);
    await stop(profiler);
    await bus.close();
    return {
      events: EVENTS,
      ingestRate: Math.round((EVENTS - firstCount) / (ingestMs / 1000)),
      ingestSeconds: ingestMs / 1000,
      ingestCpuRate: Math.round((EVENTS - firstCount) / ingestCpu),
      profileCpuRate: Math.round(EVENTS / profileCpu),
      loopDelayP99Max: delayMax,
      profileRate: Math.round(EVENTS / (profileMs / 1000)),
      profileSeconds: profileMs / 1000,
    };
  });
}

interface LatencyResult {
  sent: number;
  covered: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  idle: { capture: MemoryReading; intel: MemoryReading };
  load: { capture: MemoryReading; intel: MemoryReading };
  baseline: MemoryReading | undefined;
}

async function latencyAndMemory(): Promise<LatencyResult> {
  return withBroker(async (box) => {
    const log = join(box.env.DECNET_DATA_DIR!, 'events', 'decoy.log');
    const capture = await startFleetPart(box, 'capture', CAPTURE_FLAGS);
    const intel = await startFleetPart(box, 'intel', INTEL_FLAGS);
    try {
      const [idleCapture, idleIntel] = await steadyMemory([capture.pid!, intel.pid!]);
      const baseline = await measureIdleNode(NODE_FLAGS);
      const bus = await openMemberBus('bench-latency', `unix:${box.socket}`);
      const written = new Map<string, number[]>(); // per attacker: append time of each event, in order
      const covered = new Map<string, number>();
      const latencies: number[] = [];
      const scored = bus.subscribe('attacker.scored', { queueSize: 100_000 });
      void (async () => {
        for await (const e of scored) {
          const at = performance.now();
          const ip = String(e.payload.attacker_ip);
          const count = Number(e.payload.event_count);
          const times = written.get(ip) ?? [];
          for (let i = covered.get(ip) ?? 0; i < Math.min(count, times.length); i++) latencies.push(at - times[i]);
          covered.set(ip, Math.max(covered.get(ip) ?? 0, Math.min(count, times.length)));
        }
      })();
      await bus.connection.flush();

      const total = Math.round(RATE * SECONDS);
      const perTick = Math.max(1, Math.round(RATE / 100));
      const peak = { capture: idleCapture, intel: idleIntel };
      const sample = setInterval(() => {
        const c = readMemory(capture.pid!);
        const i = readMemory(intel.pid!);
        if (c && c.pss > peak.capture.pss) peak.capture = c;
        if (i && i.pss > peak.intel.pss) peak.intel = i;
      }, 500);
      let sent = 0;
      const start = performance.now();
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + perTick);
        const lines: string[] = [];
        const ips: string[] = [];
        for (; sent < due; sent++) {
          const ev = mixEvent(sent % ATTACKERS, new Date().toISOString());
          lines.push(formatEvent(ev));
          ips.push(ev.src_ip);
        }
        if (lines.length) {
          appendFileSync(log, lines.join('\n') + '\n');
          const t = performance.now();
          for (const ip of ips) {
            const list = written.get(ip) ?? written.set(ip, []).get(ip)!;
            list.push(t);
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const coveredCount = () => [...covered.values()].reduce((a, b) => a + b, 0);
      await waitFor(() => coveredCount() >= total, 30_000, 'every event in a profile').catch(() => undefined);
      clearInterval(sample);
      await bus.close();
      const sorted = latencies.sort((a, b) => a - b);
      return {
        sent: total,
        covered: coveredCount(),
        p50: pct(sorted, 50),
        p95: pct(sorted, 95),
        p99: pct(sorted, 99),
        max: sorted[sorted.length - 1],
        idle: { capture: idleCapture, intel: idleIntel },
        load: peak,
        baseline,
      };
    } finally {
      await stop(intel);
      await stop(capture);
    }
  });
}

function medianRun(runs: IngestResult[]): IngestResult {
  return [...runs].sort((x, y) => x.ingestRate - y.ingestRate)[Math.floor(runs.length / 2)];
}

ensureBuilt();
const fleet = JSON.parse(execFileSync(process.execPath, [BIN, 'fleet', '--json'], { encoding: 'utf8' })) as { processes: { name: string; workers: string[] }[] };
const workersOf = Object.fromEntries(fleet.processes.map((p) => [p.name, p.workers.join(', ')])) as Record<string, string>;
const loadBefore = loadavg()[0];
const runs: IngestResult[] = [];
for (let i = 0; i < RUNS; i++) runs.push(await sustainedIngest());
const a = medianRun(runs);
const range = (pick: (r: IngestResult) => number) => `${Math.min(...runs.map(pick))}–${Math.max(...runs.map(pick))}`;
const b = await latencyAndMemory();
const loadAfter = loadavg()[0];
const ms = (v: number) => `${v.toFixed(0)} ms`;
const base = b.baseline?.pss ?? 0;
const memRow = (name: string, idle: MemoryReading, load: MemoryReading) => [name, mb(idle.pss), mb(idle.pss - base), mb(idle.uss), mb(load.pss), mb(load.pss - base), mb(load.uss)];
const report = [
  `## Event pipeline (issue 5)`,
  '',
  `Measured with \`node bench/pipeline.ts --events ${EVENTS} --runs ${RUNS} --rate ${RATE} --seconds ${SECONDS}\` on the bundled CLI (\`npm run build\`), SQLite, node ${process.version}, ${new Date().toISOString().slice(0, 10)}.`,
  '',
  `### Sustained ingest (event log → database) and profiling (median of ${RUNS} runs)`,
  '',
  `Machine: ${cpus().length} CPUs, load average ${loadBefore.toFixed(2)} before and ${loadAfter.toFixed(2)} after the run. Other work on the machine slows the wall-clock figures; events per CPU-second (all threads of the process, so SQLite's checkpoint thread too) is steadier under load.`,
  '',
  table(
    ['stage', 'events', 'seconds', 'events/s (wall)', 'events per CPU-second', 'notes'],
    [
      ['ingester (`supervise capture`)', a.events, a.ingestSeconds.toFixed(2), a.ingestRate, a.ingestCpuRate, `${RUNS} runs: ${range((r) => r.ingestRate)} events/s; event-loop delay p99 (worst heartbeat): ${a.loopDelayP99Max.toFixed(1)} ms`],
      ['profiler (`decnet profiler`, same backlog)', a.events, a.profileSeconds.toFixed(2), a.profileRate, a.profileCpuRate, `${RUNS} runs: ${range((r) => r.profileRate)} events/s; ${ATTACKERS} attackers; includes process start`],
    ],
  ),
  `### End-to-end latency at ${RATE} events/s for ${SECONDS} s (line appended → its attacker profile updated)`,
  '',
  table(['events', 'in a profile', 'p50', 'p95', 'p99', 'max'], [[b.sent, b.covered, ms(b.p50), ms(b.p95), ms(b.p99), ms(b.max)]]),
  `### Memory (PSS, MB; idle node in the same run: ${mb(base)} MB)`,
  '',
  `Processes as in the shipped fleet spec: capture = ${workersOf.capture}; intel = ${workersOf.intel}.`,
  '',
  table(['process', 'idle PSS', 'idle − node', 'idle USS', `PSS at ${RATE}/s (peak)`, 'load − node', 'load USS'], [memRow('capture', b.idle.capture, b.load.capture), memRow('intel', b.idle.intel, b.load.intel)]),
].join('\n');
process.stdout.write(report + '\n');
if (OUT) writeFileSync(OUT, report + '\n');
