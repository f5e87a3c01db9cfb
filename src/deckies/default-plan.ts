// The plan the `deckies` worker runs when nobody has deployed one yet: four deckies of different
// roles on 127.77.0.x, so `decnet up` on a fresh machine shows live decoys. Host names are fixed
// per slot (stable across restarts). Without the right to bind ports below 1024, those ports move
// to 10000 + port and the worker says so; deployed plans are never rewritten like that.
import { readFileSync } from 'node:fs';
import { buildPersona } from './personas/build.ts';
import { findArchetype } from './personas/archetypes.ts';
import type { DeckyPlan, DeployPlan, ServicePlan } from './plan.ts';

const SLOTS = [
  { name: 'web-01', ip: '127.77.0.10', archetype: 'linux-server' },
  { name: 'db-01', ip: '127.77.0.11', archetype: 'database-server' },
  { name: 'mail-01', ip: '127.77.0.12', archetype: 'mail-server' },
  { name: 'dc-01', ip: '127.77.0.13', archetype: 'domain-controller' },
] as const;

export const UNPRIVILEGED_PORT_OFFSET = 10_000;

/** True when this process may bind ports below 1024 (root, or the sysctl lowered). */
export function canBindLowPorts(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) <= 1;
  } catch {
    return false;
  }
}

/** A fixed-seed generator so the default deckies keep their host names. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
}

export function defaultPlan(lowPortsAllowed = canBindLowPorts()): DeployPlan {
  const deckies = SLOTS.map((slot, i) => {
    const archetype = findArchetype(slot.archetype)!;
    const services: ServicePlan[] = archetype.services.map((name) => ({ name }));
    const decky: DeckyPlan = { name: slot.name, ip: slot.ip, persona: buildPersona({ archetype: slot.archetype }, seeded(7919 * (i + 1))), services };
    if (!lowPortsAllowed) decky.lowPortOffset = UNPRIVILEGED_PORT_OFFSET;
    return decky;
  });
  return { version: 1, generated: 'default', subnet: '127.77.0.0/24', deckies };
}
