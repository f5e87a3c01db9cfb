// Admission and resource limits of the decoy host. Every decoy service parses attacker input, so
// the host bounds what one attacker (or everyone together) can make it hold: connections, bytes,
// time, datagrams. Defaults suit a single machine; DECNET_DECKY_* variables override them.
import { ConfigError } from '../core/errors.ts';
import { envInt } from '../core/env.ts';

export interface Limits {
  /** Concurrent TCP connections across the whole host. */
  maxConnections: number;
  /** Concurrent TCP connections to one decky (all its services). */
  maxConnectionsPerDecky: number;
  /** Concurrent TCP connections from one source IP to one decky. */
  maxConnectionsPerSource: number;
  /** Bytes read from one connection before the host destroys it. */
  maxBytesPerConnection: number;
  /** A connection with no traffic either way for this long is destroyed. */
  idleTimeoutMs: number;
  /** A connection is destroyed after this long whatever it does. */
  maxConnectionMs: number;
  /** Datagrams larger than this are dropped unseen. */
  maxDatagramBytes: number;
  /** Sustained datagrams per second accepted from one source IP (per decky)… */
  udpRatePerSource: number;
  /** …with bursts up to this many. */
  udpBurstPerSource: number;
  /** Per request datagram, a UDP service may send at most this many reply bytes (or 4x the request if larger): bounds amplification. */
  udpReplyBytes: number;
  /** Events waiting for the disk beyond this many bytes are dropped and counted. */
  eventBufferBytes: number;
  /** Largest file one quarantine call stores (the rest is cut and marked truncated). */
  quarantineFileBytes: number;
  /** Total bytes this host stores in quarantine during its lifetime. */
  quarantineTotalBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxConnections: 4096,
  maxConnectionsPerDecky: 512,
  maxConnectionsPerSource: 64,
  maxBytesPerConnection: 4 * 1024 * 1024,
  idleTimeoutMs: 120_000,
  maxConnectionMs: 30 * 60_000,
  maxDatagramBytes: 4096,
  udpRatePerSource: 50,
  udpBurstPerSource: 100,
  udpReplyBytes: 1232,
  eventBufferBytes: 8 * 1024 * 1024,
  quarantineFileBytes: 10 * 1024 * 1024,
  quarantineTotalBytes: 512 * 1024 * 1024,
});

const ENV: Record<keyof Limits, string> = {
  maxConnections: 'DECNET_DECKY_MAX_CONNECTIONS',
  maxConnectionsPerDecky: 'DECNET_DECKY_MAX_CONNECTIONS_PER_DECKY',
  maxConnectionsPerSource: 'DECNET_DECKY_MAX_CONNECTIONS_PER_SOURCE',
  maxBytesPerConnection: 'DECNET_DECKY_MAX_BYTES_PER_CONNECTION',
  idleTimeoutMs: 'DECNET_DECKY_IDLE_TIMEOUT_MS',
  maxConnectionMs: 'DECNET_DECKY_MAX_CONNECTION_MS',
  maxDatagramBytes: 'DECNET_DECKY_MAX_DATAGRAM_BYTES',
  udpRatePerSource: 'DECNET_DECKY_UDP_RATE',
  udpBurstPerSource: 'DECNET_DECKY_UDP_BURST',
  udpReplyBytes: 'DECNET_DECKY_UDP_REPLY_BYTES',
  eventBufferBytes: 'DECNET_EVENT_BUFFER_BYTES',
  quarantineFileBytes: 'DECNET_QUARANTINE_FILE_BYTES',
  quarantineTotalBytes: 'DECNET_QUARANTINE_TOTAL_BYTES',
};

/** Defaults, then the environment, then explicit overrides; every value must be a positive integer. */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const out = {} as Limits;
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const value = overrides[key] ?? envInt(ENV[key], DEFAULT_LIMITS[key], { min: 1 });
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`limit ${key} must be a positive integer, got ${value}`);
    out[key] = value;
  }
  return out;
}
