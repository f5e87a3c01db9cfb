// Helpers for the pipeline and intelligence tests: a private data directory and database, the
// real workers hosted in this process on the in-process bus (a real Host with its supervision),
// a bus member for the test to listen with, and event lines written with the real formatter.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Host } from '../../src/fleet/host.ts';
import type { WorkerDefinition } from '../../src/fleet/worker.ts';
import { openBus } from '../../src/bus/connect.ts';
import type { Bus, BusConnection, Envelope } from '../../src/bus/types.ts';
import { closeSharedDatabase, openDatabase } from '../../src/db/connection.ts';
import type { Database } from '../../src/db/types.ts';
import { configureLogging } from '../../src/core/log.ts';
import { formatEvent, type EventInput } from '../../src/pipeline/rfc5424.ts';

if (!process.env.DECNET_LOG_LEVEL) configureLogging({ level: 'error' });

export interface Sandbox {
  root: string;
  dataDir: string;
  decoyLog: string;
  collectorLog: string;
  dbUrl: string;
  cleanup(): Promise<void>;
}

/** A private data dir; points DECNET_DATA_DIR / DECNET_DB_URL / log paths of this process at it. */
export function sandbox(prefix = 'decnet-pipe-'): Sandbox {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const dataDir = join(root, 'data');
  mkdirSync(join(dataDir, 'events'), { recursive: true });
  const box: Sandbox = {
    root,
    dataDir,
    decoyLog: join(dataDir, 'events', 'decoy.log'),
    collectorLog: join(dataDir, 'events', 'collector.log'),
    dbUrl: `sqlite:${join(dataDir, 'decnet.db')}`,
    async cleanup() {
      await closeSharedDatabase();
      rmSync(root, { recursive: true, force: true });
    },
  };
  process.env.DECNET_DATA_DIR = dataDir;
  process.env.DECNET_RUN_DIR = join(root, 'run');
  process.env.DECNET_DB_URL = box.dbUrl;
  delete process.env.DECNET_EVENT_LOG;
  delete process.env.DECNET_COLLECTOR_LOG;
  return box;
}

export interface Running {
  host: Host;
  stop(): Promise<void>;
}

/** Runs workers in a real host on the in-process bus. */
export async function runWorkers(workers: { def: WorkerDefinition; config?: Record<string, unknown> }[], opts: { healthIntervalMs?: number } = {}): Promise<Running> {
  const host = new Host({ name: `test-${workers.map((w) => w.def.name).join('-')}`, workers, busUrl: 'local:', stateFile: false, stopDeadlineMs: 5000, healthIntervalMs: opts.healthIntervalMs ?? 60_000 });
  await host.start();
  return {
    host,
    async stop() {
      await host.stop();
    },
  };
}

/** A bus member of this process that records what arrives on `patterns`. */
export async function listen(patterns: string[]): Promise<{ bus: Bus; events: Envelope[]; of(topic: string): Envelope[]; close(): Promise<void> }> {
  const conn: BusConnection = await openBus('local:');
  const bus = conn.member(`test-listener-${Math.random().toString(36).slice(2)}`);
  const events: Envelope[] = [];
  const abort = new AbortController();
  for (const p of patterns) {
    const sub = bus.subscribe(p, { queueSize: 100_000, signal: abort.signal });
    void (async () => {
      for await (const e of sub) events.push(e);
    })();
  }
  return {
    bus,
    events,
    of: (topic) => events.filter((e) => e.topic === topic),
    async close() {
      abort.abort();
      await conn.close();
    },
  };
}

/** A second handle on the sandbox database (for assertions), migrated. */
export function openTestDb(box: Sandbox): Promise<Database> {
  return openDatabase(box.dbUrl);
}

export function writeEvents(path: string, events: EventInput[]): string[] {
  mkdirSync(dirname(path), { recursive: true });
  const lines = events.map((e) => formatEvent(e));
  appendFileSync(path, lines.join('\n') + '\n');
  return lines;
}

let port = 40_000;

/** An event with sensible defaults. */
export function ev(over: Partial<EventInput> & { event: string }): EventInput {
  return {
    ts: new Date().toISOString(),
    decky: 'decky-a',
    service: 'ssh',
    src_ip: '198.51.100.7',
    src_port: port++ % 60_000 || 1024,
    dst_ip: '192.0.2.10',
    dst_port: 22,
    ...over,
  };
}
