// Shared benchmark helpers: PSS readings, steady-state waits, medians, markdown tables.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMemory, type MemoryReading } from '../../src/fleet/memory.ts';
import { fleetNodeFlags } from '../../src/fleet/node-flags.ts';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BIN = join(ROOT, 'bin/decnet');
/** The fleet's node flags (src/fleet/node-flags.ts), for subjects and the idle node alike. */
export const NODE_FLAGS = fleetNodeFlags();

export function ensureBuilt(): void {
  if (!existsSync(join(ROOT, 'dist/decnet.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (benchmarks measure the bundle, never sources)');
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const mb = (kib: number) => (kib / 1024).toFixed(1);

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

export interface Sandbox {
  root: string;
  socket: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

export function sandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'decnet-bench-'));
  const socket = join(root, 'run', 'bus.sock');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DECNET_DATA_DIR: join(root, 'data'),
    DECNET_RUN_DIR: join(root, 'run'),
    DECNET_BUS_SOCKET: socket,
    DECNET_BUS_URL: `unix:${socket}`,
    DECNET_DB_URL: `sqlite:${join(root, 'data', 'decnet.db')}`,
    DECNET_LOG_LEVEL: 'warn',
  };
  return { root, socket, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export function spawnNode(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Reads PSS until two readings a second apart differ by less than 2% (or 15 s pass). */
export async function steadyMemory(pids: number[]): Promise<MemoryReading[]> {
  let previous = pids.map((p) => readMemory(p)?.pss ?? 0);
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = pids.map((p) => readMemory(p)?.pss ?? 0);
    const stable = now.every((v, j) => Math.abs(v - previous[j]) <= Math.max(64, previous[j] * 0.02));
    previous = now;
    if (stable) break;
  }
  return pids.map((p) => {
    const m = readMemory(p);
    if (!m) throw new Error(`process ${p} is gone`);
    return m;
  });
}

export async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}
