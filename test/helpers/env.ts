// Test environment helpers: private data/run dirs per test, processes started from source, polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI_SOURCE = join(ROOT, 'src/cli/main.ts');
export const CLI_BUILT = join(ROOT, 'bin/decnet');

export interface TestDirs {
  root: string;
  env: NodeJS.ProcessEnv;
  socket: string;
  cleanup(): void;
}

/** A private DECNET_DATA_DIR / DECNET_RUN_DIR / bus socket, so tests never see each other's fleets. */
export function testDirs(prefix = 'decnet-test-'): TestDirs {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const socket = join(root, 'run', 'bus.sock');
  return {
    root,
    socket,
    env: {
      ...process.env,
      DECNET_DATA_DIR: join(root, 'data'),
      DECNET_RUN_DIR: join(root, 'run'),
      DECNET_BUS_SOCKET: socket,
      DECNET_BUS_URL: `unix:${socket}`,
      DECNET_DB_URL: `sqlite:${join(root, 'data', 'decnet.db')}`,
      // the API of a test fleet listens on a free port (it writes the address to <run dir>/api.json)
      DECNET_API_PORT: '0',
      DECNET_LOG_LEVEL: process.env.DECNET_LOG_LEVEL ?? 'warn',
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProcess(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, output: () => out, exited };
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

export async function stopProcess(p: Proc, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.exited;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const result = await p.exited;
  clearTimeout(timer);
  return result;
}
