// Test harness for decoy services: starts the real decoy host with one decky on a fresh loopback
// address (127.100-199.y.z, never 127.0.0.1) and a temporary data directory, so default ports
// never collide between test files running in parallel, and reads back the events it recorded.
//
//   const d = await startTestDecky({ services: ['ssh'] });
//   ... connect a real client to d.ip, d.port('ssh') ...
//   const e = await d.waitForEvent((e) => e.event === 'auth_attempt');
//   await d.stop();
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureLogging, createLogger, type Logger } from '../../src/core/log.ts';
import { findService } from '../../src/deckies/catalog.ts';
import { startDecoyHost, type DecoyHost } from '../../src/deckies/host.ts';
import type { Limits } from '../../src/deckies/limits.ts';
import type { DeckyPlan } from '../../src/deckies/plan.ts';
import type { DecoyService, Persona } from '../../src/deckies/service.ts';
import { parseEventLine } from '../../src/pipeline/rfc5424.ts';

export interface TestEvent {
  ts: string;
  decky: string;
  service: string;
  event: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  fields: Record<string, string>;
  secret?: Buffer;
  msg: string;
  raw: string;
}

export interface TestDecky {
  ip: string;
  name: string;
  /** Actual bound port of that service's listen #index (in the order of the service's `listens`). */
  port(service: string, index?: number): number;
  /** Everything recorded so far (flushes first). */
  events(): Promise<TestEvent[]>;
  /** Polls until an event matches; rejects on timeout listing the events seen. */
  waitForEvent(pred: (e: TestEvent) => boolean, timeoutMs?: number): Promise<TestEvent>;
  stop(): Promise<void>;
  /** The running host (stats, deckies, apply) for host-level tests. */
  readonly host: DecoyHost;
  readonly dataDir: string;
  readonly eventLogPath: string;
}

export type TestServiceSpec = string | { name: string; ports?: number[]; config?: Record<string, string> };

export interface TestDeckyOptions {
  services: TestServiceSpec[];
  persona?: Partial<Persona>;
  name?: string;
  ip?: string;
  limits?: Partial<Limits>;
  /** Reuse the data directory of an earlier decky (to test what survives a restart). */
  dataDir?: string;
}

const FIXTURES = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures');
const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// The host logs bind errors and service errors; keep test output readable unless asked.
if (!process.env.DECNET_LOG_LEVEL) configureLogging({ level: 'error' });

let counter = 0;
const usedIps = new Set<string>();

/** A loopback address unique to this call: second octet from the pid, the rest random. */
export function freshLoopbackIp(): string {
  for (;;) {
    counter++;
    const x = 100 + (process.pid % 100);
    const y = Math.floor(Math.random() * 256);
    const z = 1 + ((counter * 37 + Math.floor(Math.random() * 254)) % 254);
    const ip = `127.${x}.${y}.${z}`;
    if (!usedIps.has(ip)) {
      usedIps.add(ip);
      return ip;
    }
  }
}

function unprivilegedPortStart(): number {
  if (process.getuid?.() === 0) return 0;
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    return 1024;
  }
}

/** Catalog services, else a test-only fixture in test/deckies/fixtures/<name>.ts. */
async function loadService(name: string): Promise<DecoyService> {
  const entry = findService(name);
  if (entry) return entry.load();
  if (/^[a-z0-9_-]+$/.test(name) && existsSync(join(FIXTURES, `${name}.ts`))) {
    const mod = (await import(join(FIXTURES, `${name}.ts`))) as { default: DecoyService };
    return mod.default;
  }
  throw new Error(`no decoy service or test fixture named ${JSON.stringify(name)}`);
}

export async function startTestDecky(opts: TestDeckyOptions): Promise<TestDecky> {
  const ip = opts.ip ?? freshLoopbackIp();
  const name = opts.name ?? `test-${ip.split('.').slice(1).join('-')}`;
  const persona: Persona = { hostname: name, archetype: 'linux-server', distro: 'debian', osFamily: 'linux', ...opts.persona };
  const lowestPort = unprivilegedPortStart();
  const services = await Promise.all(
    opts.services.map(async (spec) => {
      const s = typeof spec === 'string' ? { name: spec } : spec;
      if (s.ports) return s;
      // Without the right to bind low ports, the defaults that need it become ephemeral ports.
      const mod = await loadService(s.name);
      const needsPrivilege = mod.listens.some((l) => l.port !== 0 && l.port < lowestPort);
      return needsPrivilege ? { ...s, ports: mod.listens.map((l) => (l.port < lowestPort ? 0 : l.port)) } : s;
    }),
  );
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'decnet-decky-'));
  if (!opts.dataDir) tempDirs.push(dataDir);
  const eventLogPath = join(dataDir, 'events', 'decoy.log');
  const plan: DeckyPlan = { name, ip, persona, services };
  const log: Logger = createLogger(`test-decky/${name}`);
  const host = await startDecoyHost([plan], { dataDir, eventLogPath, limits: opts.limits, log, loadService });

  const failed = host.deckies().flatMap((d) => d.listeners).filter((l) => l.status !== 'listening');
  if (failed.length > 0) {
    await host.stop();
    const why = failed.map((l) => `${l.service} ${l.transport}/${l.requestedPort}: ${l.error}${l.hint ? ` (${l.hint})` : ''}`).join('; ');
    throw new Error(`test decky ${name} on ${ip} could not start every listener: ${why}`);
  }

  const events = async (): Promise<TestEvent[]> => {
    await host.flush();
    let text: string;
    try {
      text = readFileSync(eventLogPath, 'utf8');
    } catch {
      return [];
    }
    const out: TestEvent[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const r = parseEventLine(line);
      const e: TestEvent = { ts: r.ts, decky: r.decky, service: r.service, event: r.event, src_ip: r.src_ip, src_port: r.src_port, dst_ip: r.dst_ip, dst_port: r.dst_port, fields: r.fields, msg: r.msg, raw: r.raw };
      if (r.secret) e.secret = r.secret;
      out.push(e);
    }
    return out;
  };

  return {
    ip,
    name,
    host,
    dataDir,
    eventLogPath,
    port(service: string, index = 0): number {
      const listeners = host.deckies().find((d) => d.name === name)?.listeners.filter((l) => l.service === service) ?? [];
      const l = listeners[index];
      if (!l) throw new Error(`decky ${name} has no listener #${index} for ${service} (it has ${listeners.length})`);
      if (l.status !== 'listening') throw new Error(`${service} listener #${index} is ${l.status}: ${l.error ?? ''}`);
      return l.port;
    },
    events,
    async waitForEvent(pred, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      let seen: TestEvent[] = [];
      for (;;) {
        seen = await events();
        const hit = seen.find(pred);
        if (hit) return hit;
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const summary = seen.map((e) => `${e.service}/${e.event} ${JSON.stringify(e.fields)}`).join('\n  ');
      throw new Error(`no matching event within ${timeoutMs} ms; ${seen.length} events seen:\n  ${summary}`);
    },
    stop: () => host.stop(),
  };
}
