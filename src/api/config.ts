// The API's settings: worker options (fleet spec or command line) first, then DECNET_* variables,
// then defaults. Every value is checked here, with a message that says what to set.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.ts';
import { envBool, envInt, envString } from '../core/env.ts';

export interface ApiConfig {
  host: string;
  port: number;
  /** Listening on a non-loopback address was asked for explicitly. */
  allowRemote: boolean;
  tokenTtlS: number;
  ticketTtlS: number;
  maxStreamsPerUser: number;
  maxStreams: number;
  streamQueue: number;
  /** Login attempts per 5 minutes, per client address and per user name. */
  loginAttempts: number;
  /** Dashboard files (web/dist). */
  webRoot: string;
  corsOrigins: string[];
  healthIntervalMs: number;
}

function option(config: Readonly<Record<string, unknown>>, name: string): unknown {
  const v = config[name];
  return v === undefined || v === '' ? undefined : v;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** The project root: the first directory above this module that holds package.json (source or bundle). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return process.cwd();
}

export function defaultWebRoot(): string {
  return join(projectRoot(), 'web', 'dist');
}

export function apiConfig(config: Readonly<Record<string, unknown>> = {}): ApiConfig {
  const host = String(option(config, 'host') ?? envString('DECNET_API_HOST') ?? '127.0.0.1');
  if (host !== 'localhost' && isIP(host) === 0) throw new ConfigError(`API host ${JSON.stringify(host)} must be an IP address or localhost (--host or DECNET_API_HOST)`);
  const rawPort = option(config, 'port') ?? envString('DECNET_API_PORT') ?? 8000;
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError(`API port ${JSON.stringify(rawPort)} must be a whole number from 0 to 65535 (--port or DECNET_API_PORT)`);
  const allowRemote = option(config, 'allow-remote') === true || envBool('DECNET_API_ALLOW_REMOTE', false);
  if (!isLoopback(host) && !allowRemote) {
    throw new ConfigError(
      `refusing to serve the API on ${host}: it is reachable from other machines. Put it behind a TLS reverse proxy and pass --allow-remote (or DECNET_API_ALLOW_REMOTE=true), or bind 127.0.0.1`,
    );
  }
  const cors = (envString('DECNET_CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of cors) {
    if (origin === '*') throw new ConfigError('DECNET_CORS_ORIGINS must list origins; "*" would let any web page use a logged-in browser');
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new ConfigError(`DECNET_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path)`);
  }
  return {
    host,
    port,
    allowRemote,
    tokenTtlS: envInt('DECNET_JWT_TTL_MINUTES', 15, { min: 1, max: 24 * 60 }) * 60,
    ticketTtlS: envInt('DECNET_SSE_TICKET_SECONDS', 30, { min: 5, max: 300 }),
    maxStreamsPerUser: envInt('DECNET_SSE_MAX_PER_USER', 5, { min: 1, max: 10_000 }),
    maxStreams: envInt('DECNET_SSE_MAX_STREAMS', 1000, { min: 1, max: 20_000 }),
    streamQueue: envInt('DECNET_SSE_QUEUE', 256, { min: 8, max: 100_000 }),
    loginAttempts: envInt('DECNET_LOGIN_ATTEMPTS', 10, { min: 1, max: 10_000 }),
    webRoot: resolve(envString('DECNET_WEB_ROOT') ?? defaultWebRoot()),
    corsOrigins: cors,
    healthIntervalMs: envInt('DECNET_HEALTH_INTERVAL_MS', 30_000, { min: 10, max: 3_600_000 }),
  };
}
