// Where DECNET keeps its files (DESIGN §4): DECNET_DATA_DIR for durable data,
// DECNET_RUN_DIR for sockets and pid/state files. Every command honours both.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { envString } from './env.ts';

export function dataDir(): string {
  return envString('DECNET_DATA_DIR') ?? join(homedir(), '.decnet');
}

function writableDir(path: string): boolean {
  try {
    if (!statSync(path).isDirectory()) return false;
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function runDir(): string {
  const explicit = envString('DECNET_RUN_DIR');
  if (explicit) return explicit;
  const xdg = envString('XDG_RUNTIME_DIR');
  if (xdg && writableDir(xdg)) return join(xdg, 'decnet');
  if (writableDir('/run/decnet') || writableDir('/run')) return '/run/decnet';
  return join(homedir(), '.decnet', 'run');
}

export function busSocketPath(): string {
  return envString('DECNET_BUS_SOCKET') ?? join(runDir(), 'bus.sock');
}

/** Directory holding one state file per running host process (read by `decnet status` and `decnet mem`). */
export function hostsDir(): string {
  return join(runDir(), 'hosts');
}

export function ensureDir(path: string, mode = 0o750): string {
  mkdirSync(path, { recursive: true, mode });
  return path;
}
