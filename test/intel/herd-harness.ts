// Runs workers in this test process the way `decnet supervise` does (a Host with per-worker
// supervision) on the in-process bus, against a private SQLite database, and records what they
// publish.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBus } from '../../src/bus/connect.ts';
import type { Bus, BusConnection, Envelope } from '../../src/bus/types.ts';
import { Host } from '../../src/fleet/host.ts';
import { findWorker } from '../../src/fleet/registry.ts';
import { configureLogging } from '../../src/core/log.ts';
import { sharedDatabase } from '../../src/db/connection.ts';
import type { Database } from '../../src/db/types.ts';

if (!process.env.DECNET_LOG_LEVEL) configureLogging({ level: 'error' });

/** A private data directory and SQLite database for this test file (set before any worker opens it). */
export function privateData(prefix: string): { dir: string; db(): Promise<Database>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  process.env.DECNET_DATA_DIR = join(dir, 'data');
  process.env.DECNET_RUN_DIR = join(dir, 'run');
  process.env.DECNET_DB_URL = `sqlite:${join(dir, 'decnet.db')}`;
  return { dir, db: () => sharedDatabase(), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestHost {
  host: Host;
  /** A bus member of its own (it sees the workers' publications). */
  bus: Bus;
  /** Events received on the watched patterns, in order. */
  seen: Envelope[];
  stop(): Promise<void>;
}

export async function startHost(name: string, workers: { name: string; config?: Record<string, unknown> }[], watch: string[] = []): Promise<TestHost> {
  const hosted = [];
  for (const w of workers) {
    const entry = findWorker(w.name);
    if (!entry) throw new Error(`no worker ${w.name}`);
    const defaults: Record<string, unknown> = {};
    for (const o of entry.options ?? []) if (o.default !== undefined) defaults[o.name] = o.default;
    hosted.push({ def: await entry.load(), config: { ...defaults, ...w.config } });
  }
  const host = new Host({ name, workers: hosted, busUrl: 'local:', stateFile: false, healthIntervalMs: 60_000, stopDeadlineMs: 5000, backoff: { initialMs: 200, maxMs: 1000, resetAfterMs: 60_000 } });
  const connection: BusConnection = await openBus('local:');
  const bus = connection.member(`observer-${name}`);
  const seen: Envelope[] = [];
  for (const pattern of watch) {
    const sub = bus.subscribe(pattern, { queueSize: 10_000 });
    void (async () => {
      for await (const e of sub) seen.push(e);
    })();
  }
  await host.start();
  return {
    host,
    bus,
    seen,
    async stop() {
      await host.stop('test over');
      await connection.close();
    },
  };
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
