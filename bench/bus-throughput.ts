// Bus throughput: messages per second from ONE publisher process to ONE subscriber process,
// 64-byte payloads, through (a) our broker in its own process and (b) a nats-server started for
// this run, with the same publisher/subscriber harness (our Bus API over `unix:` and `nats://`),
// plus (c) the raw NATS client on the same server for reference. Median of 3 runs each.
//
// Delivery is at-most-once with bounded queues, so the publisher keeps at most WINDOW messages
// in flight: the subscriber acknowledges every ACK_EVERY messages on the bus. The figure is the
// sustainable loss-free rate: first publish to last delivery.
//
//   node bench/bus-throughput.ts [--messages 500000] [--runs 3] [--window 1000]
//
// Prints a table; never fails on absolute numbers (exit 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
const DATA = 'bench.data';
const ACK = 'bench.ack';
const STALL_MS = 5000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`--${name} needs a positive whole number\n`);
    process.exit(2);
  }
  return v;
}

function argString(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const now = (): number => performance.timeOrigin + performance.now();
const say = (obj: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(obj) + '\n');

/** A payload whose JSON is 64 bytes for six-digit sequence numbers. */
function makePayload(): { seq: number; pad: string } {
  const p = { seq: 100000, pad: '' };
  p.pad = 'x'.repeat(64 - JSON.stringify(p).length);
  return p;
}

// ---------------------------------------------------------------- child roles

async function roleBroker(): Promise<void> {
  const { startBroker } = await import('../src/bus/broker.ts');
  const broker = await startBroker({ path: argString('socket')!, group: '' });
  say({ ready: true });
  process.on('SIGTERM', () => {
    say({ stats: broker.stats() });
    void broker.close().then(() => process.exit(0));
  });
}

async function roleSub(): Promise<void> {
  const n = arg('messages', 500_000);
  const ackEvery = arg('ack', 250);
  const { openBus } = await import('../src/bus/connect.ts');
  const { consume } = await import('../src/bus/subscription.ts');
  const conn = await openBus(argString('url')!, { name: 'bench-sub' });
  const bus = conn.member('bench-sub');
  const sub = bus.subscribe(DATA);
  await conn.flush();
  say({ ready: true });
  let got = 0;
  let last = 0;
  let lastSeen = Date.now();
  const stop = new AbortController();
  const idle = setInterval(() => {
    if (Date.now() - lastSeen > STALL_MS) stop.abort();
  }, 250);
  await consume(
    sub,
    () => {
      got++;
      lastSeen = Date.now();
      if (got % ackEvery === 0 || got === n) bus.publish(ACK, { n: got });
      if (got === n) {
        last = now();
        stop.abort();
      }
    },
    stop.signal,
  );
  clearInterval(idle);
  await conn.flush();
  say({ got, t1: last, drops: sub.drops });
  await conn.close();
}

async function rolePub(): Promise<void> {
  const n = arg('messages', 500_000);
  const window = arg('window', 1000);
  const { openBus } = await import('../src/bus/connect.ts');
  const conn = await openBus(argString('url')!, { name: 'bench-pub' });
  const bus = conn.member('bench-pub');
  const acks = bus.subscribe(ACK);
  await conn.flush();
  let acked = 0;
  let wake: (() => void) | undefined;
  void (async () => {
    for await (const ev of acks) {
      acked = Math.max(acked, ev.payload.n as number);
      wake?.();
    }
  })();
  const payload = makePayload();
  const t0 = now();
  let sent = 0;
  let stalled = false;
  while (sent < n) {
    while (sent < n && sent - acked < window) {
      payload.seq = 100000 + (sent % 900000);
      bus.publish(DATA, payload, 'bench');
      sent++;
    }
    if (sent >= n) break;
    const progressed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), STALL_MS);
      wake = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
    wake = undefined;
    if (!progressed) {
      stalled = true;
      break;
    }
  }
  await conn.flush();
  say({ t0, sent, stalled });
  await conn.close();
}

/** The same harness on the raw NATS client: 64-byte bodies, no envelope. */
async function roleRawSub(): Promise<void> {
  const n = arg('messages', 500_000);
  const ackEvery = arg('ack', 250);
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: argString('url')! });
  let got = 0;
  let last = 0;
  let lastSeen = Date.now();
  const done = new Promise<void>((resolve) => {
    nc.subscribe(DATA, {
      callback: () => {
        got++;
        lastSeen = Date.now();
        if (got % ackEvery === 0 || got === n) nc.publish(ACK, String(got));
        if (got === n) {
          last = now();
          resolve();
        }
      },
    });
    const idle = setInterval(() => {
      if (Date.now() - lastSeen > STALL_MS || got === n) {
        clearInterval(idle);
        resolve();
      }
    }, 250);
  });
  await nc.flush();
  say({ ready: true });
  await done;
  await nc.flush();
  say({ got, t1: last, drops: 0 });
  await nc.close();
}

async function roleRawPub(): Promise<void> {
  const n = arg('messages', 500_000);
  const window = arg('window', 1000);
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: argString('url')! });
  let acked = 0;
  let wake: (() => void) | undefined;
  nc.subscribe(ACK, {
    callback: (_err, msg) => {
      acked = Math.max(acked, Number(msg.string()));
      wake?.();
    },
  });
  await nc.flush();
  const body = Buffer.from(JSON.stringify(makePayload()));
  const t0 = now();
  let sent = 0;
  let stalled = false;
  while (sent < n) {
    while (sent < n && sent - acked < window) {
      nc.publish(DATA, body);
      sent++;
    }
    if (sent >= n) break;
    const progressed = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), STALL_MS);
      wake = () => {
        clearTimeout(t);
        resolve(true);
      };
    });
    wake = undefined;
    if (!progressed) {
      stalled = true;
      break;
    }
  }
  await nc.flush();
  say({ t0, sent, stalled });
  await nc.close();
}

// ---------------------------------------------------------------- orchestrator

interface Child {
  proc: ChildProcess;
  next(): Promise<Record<string, unknown>>;
}

function child(args: string[]): Child {
  const proc = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=1').split(' ').filter(Boolean), SELF, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, DECNET_LOG_LEVEL: process.env.DECNET_LOG_LEVEL ?? 'warn' },
  });
  const lines = createInterface({ input: proc.stdout! });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((v: Record<string, unknown>) => void)[] = [];
  lines.on('line', (line) => {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const w = waiters.shift();
    if (w) w(obj);
    else queue.push(obj);
  });
  proc.on('exit', () => {
    for (const w of waiters.splice(0)) w({ exited: true });
  });
  return {
    proc,
    next: () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiters.push(resolve))),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitForPort(port: number, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not open port ${port}`);
}

interface RunResult {
  rate: number;
  got: number;
  sent: number;
  ok: boolean;
}

async function runPair(url: string, raw: boolean, messages: number, window: number): Promise<RunResult> {
  const common = ['--url', url, '--messages', String(messages), '--window', String(window)];
  const sub = child(['--role', raw ? 'raw-sub' : 'sub', ...common]);
  const ready = await sub.next();
  if (!ready.ready) throw new Error('subscriber failed to start');
  const pub = child(['--role', raw ? 'raw-pub' : 'pub', ...common]);
  const [p, s] = await Promise.all([pub.next(), sub.next()]);
  await Promise.all([new Promise((r) => pub.proc.once('exit', r)), new Promise((r) => sub.proc.once('exit', r))]);
  const got = Number(s.got ?? 0);
  const ok = got === messages && !p.stalled;
  const t0 = Number(p.t0);
  const t1 = Number(s.t1);
  return { rate: ok ? messages / ((t1 - t0) / 1000) : 0, got, sent: Number(p.sent ?? 0), ok };
}

async function withOurBroker<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-bench-'));
  const path = join(dir, 'bus.sock');
  const broker = child(['--role', 'broker', '--socket', path]);
  try {
    const ready = await broker.next();
    if (!ready.ready) throw new Error('broker failed to start');
    return await fn(`unix:${path}`);
  } finally {
    broker.proc.kill('SIGTERM');
    await new Promise((r) => broker.proc.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function withNatsServer<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const port = await freePort();
  const proc = spawn(NATS_SERVER!, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  try {
    await waitForPort(port);
    return await fn(`nats://127.0.0.1:${port}`);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function orchestrate(): Promise<void> {
  const messages = arg('messages', 500_000);
  const runs = arg('runs', 3);
  const window = arg('window', 1000);
  const rows: { name: string; rates: number[]; failures: number }[] = [
    { name: 'decnet broker (unix:)', rates: [], failures: 0 },
    { name: 'nats-server, decnet adapter (nats://)', rates: [], failures: 0 },
    { name: 'nats-server, raw client', rates: [], failures: 0 },
  ];
  if (!NATS_SERVER) process.stdout.write('nats-server not found (apt-get install nats-server): its rows are skipped\n');
  process.stdout.write(`bus throughput: ${fmt(messages)} messages of 64 bytes, 1 publisher process -> 1 subscriber process, window ${window}, ${runs} runs\n`);
  for (let r = 0; r < runs; r++) {
    const tasks: [number, () => Promise<RunResult>][] = [[0, () => withOurBroker((url) => runPair(url, false, messages, window))]];
    if (NATS_SERVER) {
      tasks.push([1, () => withNatsServer((url) => runPair(url, false, messages, window))]);
      tasks.push([2, () => withNatsServer((url) => runPair(url, true, messages, window))]);
    }
    for (const [i, task] of tasks) {
      try {
        const res = await task();
        if (res.ok) rows[i].rates.push(res.rate);
        else {
          rows[i].failures++;
          process.stdout.write(`  ${rows[i].name}: run ${r + 1} incomplete (sent ${res.sent}, received ${res.got})\n`);
        }
      } catch (err) {
        rows[i].failures++;
        process.stdout.write(`  ${rows[i].name}: run ${r + 1} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  }
  const ours = rows[0].rates.length ? median(rows[0].rates) : 0;
  const w = Math.max(...rows.map((r) => r.name.length)) + 2;
  process.stdout.write(`\n${'transport'.padEnd(w)}${'median msg/s'.padStart(14)}${'min'.padStart(12)}${'max'.padStart(12)}${'ours/this'.padStart(11)}\n`);
  for (const row of rows) {
    if (row.rates.length === 0) {
      process.stdout.write(`${row.name.padEnd(w)}${'n/a'.padStart(14)}\n`);
      continue;
    }
    const m = median(row.rates);
    const ratio = ours > 0 ? (ours / m).toFixed(2) : 'n/a';
    process.stdout.write(
      `${row.name.padEnd(w)}${fmt(m).padStart(14)}${fmt(Math.min(...row.rates)).padStart(12)}${fmt(Math.max(...row.rates)).padStart(12)}${ratio.padStart(11)}${row.failures ? `  (${row.failures} incomplete)` : ''}\n`,
    );
  }
  const nats = rows[1].rates.length ? median(rows[1].rates) : 0;
  process.stdout.write(`\ntargets: ours >= 250,000 msg/s: ${ours >= 250_000 ? 'met' : 'NOT met'}; ours >= 0.8 x nats-server (same harness): ${nats === 0 ? 'n/a' : ours >= 0.8 * nats ? 'met' : 'NOT met'}\n`);
}

const role = argString('role');
const roles: Record<string, () => Promise<void>> = { broker: roleBroker, sub: roleSub, pub: rolePub, 'raw-sub': roleRawSub, 'raw-pub': roleRawPub };
if (role === undefined) {
  await orchestrate();
} else if (roles[role]) {
  await roles[role]();
} else {
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(2);
}
