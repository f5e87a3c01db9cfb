// <run dir>/api.json: where the running API listens, written once it does. `decnet up` reads it to
// print the dashboard URL; tests read it to find an API started on an ephemeral port. Tiny on
// purpose: importing it loads nothing of the API.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, runDir } from '../core/paths.ts';

export interface ApiEndpoint {
  url: string;
  host: string;
  port: number;
  pid: number;
  started_at: number;
}

export function apiEndpointPath(): string {
  return join(runDir(), 'api.json');
}

export function writeApiEndpoint(e: ApiEndpoint): void {
  const path = apiEndpointPath();
  ensureDir(runDir());
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(e), { mode: 0o644 });
  renameSync(tmp, path);
}

export function readApiEndpoint(): ApiEndpoint | undefined {
  try {
    const e = JSON.parse(readFileSync(apiEndpointPath(), 'utf8')) as ApiEndpoint;
    return typeof e.url === 'string' && typeof e.pid === 'number' ? e : undefined;
  } catch {
    return undefined;
  }
}

export function removeApiEndpoint(pid = process.pid): void {
  const e = readApiEndpoint();
  if (e && e.pid !== pid) return;
  rmSync(apiEndpointPath(), { force: true });
}

/** The URL a browser should open for an address the API listens on. */
export function dashboardUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`;
}
