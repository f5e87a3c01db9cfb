// Decoy host footprint (bundled code, next to an idle `node` measured in the same run):
//   1. PSS of `decnet deckies` running 10 deckies x 6 services, idle;
//   2. the same holding 1,000 concurrent attacker connections;
//   3. an SSH login storm (200 password attempts/s for 30 s, 4 per connection like hydra/ncrack):
//      every attempt must be in the event log; then the PSS 30 s later.
// Targets: (1) <= 25 MB above idle node, (2) <= 30 MB added by the connections, (3) no attempt lost.
// Run: `npm run build && node bench/deckies-footprint.ts`. BENCH_STORM_SECONDS, BENCH_STORM_RATE and
// BENCH_STORM_TRIES (attempts per connection; 1 = a new handshake per guess) tune the storm.
// The ssh client runs in this process, so on a small machine it competes with the host for CPU.
import { connect, type Socket } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { measureIdleNode } from '../src/fleet/baseline.ts';
import { findService } from '../src/deckies/catalog.ts';
import { canBindLowPorts, UNPRIVILEGED_PORT_OFFSET } from '../src/deckies/default-plan.ts';
import type { DeckyPlan, DeployPlan } from '../src/deckies/plan.ts';
import type { LiveState } from '../src/deckies/live-state.ts';
import { BIN as BUILT_BIN, NODE_FLAGS, ensureBuilt, mb, sandbox, spawnNode, steadyMemory, stop, table, waitFor } from './lib/measure.ts';

// DECNET_BENCH_BIN points at another bundled entry (e.g. a bundle made elsewhere); default bin/decnet.
const BIN = process.env.DECNET_BENCH_BIN ?? BUILT_BIN;

const PREFERRED = ['ssh', 'http', 'mysql', 'postgres', 'redis', 'ftp', 'smtp', 'telnet', 'vnc', 'mqtt', 'modbus', 'elasticsearch'];
const DECKIES = 10;
const CONNECTIONS = 1000;
const STORM_SECONDS = Number(process.env.BENCH_STORM_SECONDS ?? 30);
const STORM_RATE = Number(process.env.BENCH_STORM_RATE ?? 200);
// Password guesses per connection, as brute-forcers (hydra, ncrack) do; the decoy allows 6 like sshd.
const STORM_TRIES = Number(process.env.BENCH_STORM_TRIES ?? 4);

async function availableServices(): Promise<string[]> {
  const out: string[] = [];
  for (const name of PREFERRED) {
    try {
      const mod = await findService(name)!.load();
      if (mod.listens.every((l) => l.transport === 'tcp')) out.push(name);
    } catch {
      // not written yet
    }
    if (out.length === 6) break;
  }
  return out;
}

function readLive(runDir: string): LiveState | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, 'deckies', 'state.json'), 'utf8')) as LiveState;
  } catch {
    return undefined;
  }
}

function holdConnection(ip: string, port: number, localAddress: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, localAddress });
    s.on('data', () => undefined);
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
}

interface StormResult {
  sent: number;
  /** Attempts the server answered with an authentication failure (it saw the password). */
  rejectedByServer: number;
  /** Connections that ended otherwise (refused, reset, timeout), by error text. */
  otherErrors: Map<string, number>;
  maxConcurrent: number;
}

async function sshStorm(ip: string, port: number, seconds: number, rate: number, tries: number): Promise<StormResult> {
  const { Client } = await import('ssh2');
  const result: StormResult = { sent: 0, rejectedByServer: 0, otherErrors: new Map(), maxConcurrent: 0 };
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const attempt = (i: number) =>
    new Promise<void>((resolve) => {
      const c = new Client();
      let settled = false;
      const done = (err?: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        inFlight--;
        if (err?.level === 'client-authentication') result.rejectedByServer += tries;
        else {
          const key = err ? err.message.slice(0, 60) : 'closed without an auth result';
          result.otherErrors.set(key, (result.otherErrors.get(key) ?? 0) + 1);
        }
        c.destroy();
        resolve();
      };
      c.on('error', done);
      c.on('close', () => done());
      c.on('ready', () => done(Object.assign(new Error('login accepted'), { level: 'client-authentication' })));
      inFlight++;
      result.maxConcurrent = Math.max(result.maxConcurrent, inFlight);
      // Many source addresses: the host caps concurrent connections per source (64 per decky).
      const guesses = Array.from({ length: tries }, (_, k) => ({ type: 'password' as const, username: `user${i % 50}`, password: `storm-${i}-${k}` }));
      c.connect({ host: ip, port, username: `user${i % 50}`, authHandler: guesses, readyTimeout: 20_000, localAddress: `127.0.${1 + (i % 200)}.${1 + ((i >> 8) % 250)}` });
      result.sent += tries;
    });
  const started = Date.now();
  let i = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) / 1000) * (rate / tries));
    while (i < due) {
      const p = attempt(i++);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(pending);
  return result;
}

async function main(): Promise<void> {
  if (!process.env.DECNET_BENCH_BIN) ensureBuilt();
  const services = await availableServices();
  if (services.length < 6) process.stdout.write(`note: only ${services.length} TCP services exist yet (${services.join(', ')}); measuring with those\n`);
  const box = sandbox();
  const runDir = box.env.DECNET_RUN_DIR!;
  const dataDir = box.env.DECNET_DATA_DIR!;
  const subnet = `127.${150 + (process.pid % 40)}.${process.pid % 250}`;
  const low = canBindLowPorts();
  const deckies: DeckyPlan[] = Array.from({ length: DECKIES }, (_, i) => {
    const d: DeckyPlan = {
      name: `bench-${String(i + 1).padStart(2, '0')}`,
      ip: `${subnet}.${10 + i}`,
      persona: { hostname: `SRV-BENCH-${10 + i}`, archetype: 'linux-server', distro: i % 2 ? 'ubuntu22' : 'debian', osFamily: 'linux' },
      services: services.map((name) => ({ name })),
    };
    if (!low) d.lowPortOffset = UNPRIVILEGED_PORT_OFFSET;
    return d;
  });
  const plan: DeployPlan = { version: 1, generated: `bench-${Date.now()}`, deckies };
  mkdirSync(join(dataDir, 'deploy'), { recursive: true });
  writeFileSync(join(dataDir, 'deploy', 'plan.json'), JSON.stringify(plan));

  const rows: (string | number)[][] = [];
  const broker = spawnNode([...NODE_FLAGS, BIN, 'bus'], box.env);
  let host: ReturnType<typeof spawnNode> | undefined;
  const held: Socket[] = [];
  try {
    await waitFor(() => existsSync(box.socket), 15_000, 'the broker');
    const idle = await measureIdleNode(NODE_FLAGS);
    if (!idle) throw new Error('could not measure an idle node');
    rows.push(['idle node (yardstick)', mb(idle.pss), '-', '-', '-']);

    host = spawnNode([...NODE_FLAGS, BIN, 'deckies'], box.env);
    await waitFor(() => {
      const live = readLive(runDir);
      return live?.plan_generated === plan.generated && live.deckies.every((d) => d.listeners.every((l) => l.status !== 'starting'));
    }, 30_000, 'the decoy host to run the plan');
    const live = readLive(runDir)!;
    const listening = live.deckies.flatMap((d) => d.listeners.filter((l) => l.status === 'listening').map((l) => ({ ip: d.ip, port: l.port })));
    const failed = live.deckies.flatMap((d) => d.listeners.filter((l) => l.status !== 'listening'));
    if (failed.length) process.stdout.write(`warning: ${failed.length} listeners failed: ${failed.map((l) => `${l.service}:${l.requestedPort} ${l.error}`).slice(0, 3).join('; ')}\n`);
    const [idleHost] = await steadyMemory([host.pid!]);
    const idleDelta = idleHost.pss - idle.pss;
    rows.push([`decoy host, ${DECKIES} deckies x ${services.length} services, idle (${listening.length} listeners)`, mb(idleHost.pss), `+${mb(idleDelta)} vs idle node`, '<= +25 MB', idleDelta <= 25 * 1024 ? 'ok' : 'OVER']);

    // 1,000 connections from 40 source addresses (the per-source cap is 64 per decky).
    for (let i = 0; i < CONNECTIONS; i++) {
      const target = listening[i % listening.length];
      const s = await holdConnection(target.ip, target.port, `127.0.${1 + (i % 40)}.1`);
      if (s) held.push(s);
    }
    await waitFor(() => (readLive(runDir)?.stats.connections.active ?? 0) >= held.length, 20_000, 'the host to count the held connections');
    const [busy] = await steadyMemory([host.pid!]);
    const connDelta = busy.pss - idleHost.pss;
    rows.push([`same, holding ${held.length} attacker connections`, mb(busy.pss), `+${mb(connDelta)} for the connections (${((connDelta * 1024) / held.length / 1024).toFixed(1)} KB each)`, '<= +30 MB', connDelta <= 30 * 1024 && held.length === CONNECTIONS ? 'ok' : 'OVER']);
    for (const s of held) s.destroy();

    const sshTarget = live.deckies[0].listeners.find((l) => l.service === 'ssh' && l.status === 'listening');
    if (!sshTarget) {
      rows.push([`SSH login storm (${STORM_RATE}/s for ${STORM_SECONDS} s)`, '-', 'not run: no ssh listener (service missing or failed to start)', 'no attempt lost', 'n/a']);
    } else {
      const logPath = join(dataDir, 'events', 'decoy.log');
      const count = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes(' ssh - auth_attempt ')).length : 0);
      const before = count();
      const storm = await sshStorm(live.deckies[0].ip, sshTarget.port, STORM_SECONDS, STORM_RATE, STORM_TRIES);
      let recorded = 0;
      await waitFor(() => (recorded = count() - before) >= storm.rejectedByServer, 15_000, 'every attempt in the event log').catch(() => undefined);
      const [after] = await steadyMemory([host.pid!]);
      const others = [...storm.otherErrors].map(([k, v]) => `${v}x ${k}`).join('; ') || 'none';
      process.stdout.write(`storm: ${storm.sent} attempts, ${storm.rejectedByServer} answered by the server, at most ${storm.maxConcurrent} connections in flight; other outcomes: ${others}\n`);
      rows.push([`SSH login storm: ${storm.sent} attempts in ${STORM_SECONDS} s, ${STORM_TRIES} per connection (${storm.maxConcurrent} connections in flight at most)`, mb(after.pss), `${recorded} auth_attempt events for ${storm.rejectedByServer} server-answered attempts; ${storm.sent - storm.rejectedByServer} not answered`, 'no attempt lost', recorded >= storm.sent ? 'ok' : 'LOST']);
      await new Promise((r) => setTimeout(r, 30_000));
      const [later] = await steadyMemory([host.pid!]);
      rows.push(['same, 30 s after the storm', mb(later.pss), `${mb(later.pss - idleHost.pss)} MB above the idle host`, '-', '-']);
    }
  } finally {
    for (const s of held) s.destroy();
    if (host) await stop(host);
    await stop(broker);
    box.cleanup();
  }
  process.stdout.write(`\nDecoy host footprint (PSS, bundled, ${NODE_FLAGS.join(' ')})\n\n`);
  process.stdout.write(table(['scenario', 'PSS MB', 'measure', 'target', 'verdict'], rows));
}

await main();
