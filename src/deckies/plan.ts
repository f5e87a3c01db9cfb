// The deploy plan: which deckies exist, their addresses, personas and services. `decnet deploy`
// writes it (<dataDir>/deploy/plan.json), the `deckies` worker runs it. Data and validation only.
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.ts';
import type { OsFamily, Persona } from './service.ts';

export interface ServicePlan {
  name: string;
  /** Overrides the service's default ports, in the order of its listens (0 = any free port). */
  ports?: number[];
  /** Per-service persona keys (INI `[decky.service]`), as strings. */
  config?: Record<string, string>;
}

export interface DeckyPlan {
  name: string;
  ip: string;
  persona: Persona;
  services: ServicePlan[];
  /** Default ports below 1024 listen on port + this offset instead (for hosts that may not bind them). */
  lowPortOffset?: number;
  /** Minutes between persona mutations (INI `mutate_interval`), for the mutator. */
  mutateInterval?: number;
}

export interface DeployPlan {
  version: 1;
  /** When the plan was written (ISO-8601). */
  generated: string;
  subnet?: string;
  gateway?: string;
  /** Host interface the decky addresses live on (INI `[general] interface`). */
  interface?: string;
  deckies: DeckyPlan[];
}

// No dots: a decky name is one token of bus subjects (decky.<name>.state) and INI `[name.service]` sections.
export const DECKY_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/;
const CONFIG_KEY = /^[a-z][a-z0-9_]{0,31}$/;
const OS_FAMILIES: readonly OsFamily[] = ['linux', 'windows', 'bsd', 'embedded', 'macos'];
const MAX_DECKIES = 1024;
const MAX_CONFIG_VALUE = 64 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a plan read from disk or built by deploy. `knownServices` is the catalog's names.
 * Throws ConfigError naming the offending decky and field.
 */
export function validatePlan(raw: unknown, knownServices: readonly string[], where = 'plan'): DeployPlan {
  if (!isObject(raw)) throw new ConfigError(`${where}: must be a JSON object`);
  if (raw.version !== 1) throw new ConfigError(`${where}: unsupported version ${JSON.stringify(raw.version)} (expected 1)`);
  if (!Array.isArray(raw.deckies)) throw new ConfigError(`${where}: "deckies" must be a list`);
  if (raw.deckies.length > MAX_DECKIES) throw new ConfigError(`${where}: ${raw.deckies.length} deckies exceed the maximum of ${MAX_DECKIES}`);
  const deckies = raw.deckies.map((d, i) => validateDecky(d, knownServices, `${where}: deckies[${i}]`));
  checkCollisions(deckies, where);
  const plan: DeployPlan = { version: 1, generated: typeof raw.generated === 'string' ? raw.generated : new Date().toISOString(), deckies };
  if (typeof raw.subnet === 'string') plan.subnet = raw.subnet;
  if (typeof raw.gateway === 'string') plan.gateway = raw.gateway;
  if (typeof raw.interface === 'string') plan.interface = raw.interface;
  return plan;
}

export function validateDecky(raw: unknown, knownServices: readonly string[], where: string): DeckyPlan {
  if (!isObject(raw)) throw new ConfigError(`${where}: must be an object`);
  const name = raw.name;
  if (typeof name !== 'string' || !DECKY_NAME.test(name)) throw new ConfigError(`${where}: name ${JSON.stringify(name)} must be 1-63 of [A-Za-z0-9_-] (no dots), starting with a letter or digit`);
  const at = `${where} (${name})`;
  if (typeof raw.ip !== 'string' || isIP(raw.ip) === 0) throw new ConfigError(`${at}: ip ${JSON.stringify(raw.ip)} is not an IP address`);
  const persona = validatePersona(raw.persona, at);
  if (!Array.isArray(raw.services) || raw.services.length === 0) throw new ConfigError(`${at}: "services" must be a non-empty list`);
  const seen = new Set<string>();
  const services = raw.services.map((s, j): ServicePlan => {
    const svc = typeof s === 'string' ? { name: s } : s;
    if (!isObject(svc) || typeof svc.name !== 'string') throw new ConfigError(`${at}: services[${j}] must be a service name or {name, ports?, config?}`);
    if (!knownServices.includes(svc.name)) throw new ConfigError(`${at}: unknown service ${JSON.stringify(svc.name)} (known: ${knownServices.join(', ')})`);
    if (seen.has(svc.name)) throw new ConfigError(`${at}: service ${svc.name} listed twice`);
    seen.add(svc.name);
    const out: ServicePlan = { name: svc.name };
    if (svc.ports !== undefined) {
      if (!Array.isArray(svc.ports) || svc.ports.some((p) => !Number.isInteger(p) || p < 0 || p > 65535)) {
        throw new ConfigError(`${at}: ${svc.name}.ports must be a list of integers 0..65535`);
      }
      out.ports = svc.ports as number[];
    }
    if (svc.config !== undefined) {
      if (!isObject(svc.config)) throw new ConfigError(`${at}: ${svc.name}.config must be an object of strings`);
      const config: Record<string, string> = {};
      for (const [k, v] of Object.entries(svc.config)) {
        if (!CONFIG_KEY.test(k)) throw new ConfigError(`${at}: ${svc.name}.config key ${JSON.stringify(k)} must be [a-z][a-z0-9_]{0,31}`);
        if (typeof v !== 'string' || v.length > MAX_CONFIG_VALUE) throw new ConfigError(`${at}: ${svc.name}.config.${k} must be a string of at most ${MAX_CONFIG_VALUE} characters`);
        config[k] = v;
      }
      out.config = config;
    }
    return out;
  });
  const decky: DeckyPlan = { name, ip: raw.ip, persona, services };
  if (raw.lowPortOffset !== undefined) {
    if (!Number.isInteger(raw.lowPortOffset) || (raw.lowPortOffset as number) < 1 || (raw.lowPortOffset as number) > 64000) throw new ConfigError(`${at}: lowPortOffset must be an integer 1..64000`);
    decky.lowPortOffset = raw.lowPortOffset as number;
  }
  if (raw.mutateInterval !== undefined) {
    if (!Number.isInteger(raw.mutateInterval) || (raw.mutateInterval as number) < 1) throw new ConfigError(`${at}: mutateInterval must be a positive whole number of minutes`);
    decky.mutateInterval = raw.mutateInterval as number;
  }
  return decky;
}

export function validatePersona(raw: unknown, where: string): Persona {
  if (!isObject(raw)) throw new ConfigError(`${where}: "persona" must be an object {hostname, archetype, distro, osFamily}`);
  const { hostname, archetype, distro, osFamily } = raw;
  if (typeof hostname !== 'string' || !HOSTNAME.test(hostname)) throw new ConfigError(`${where}: persona.hostname ${JSON.stringify(hostname)} must be a host name (letters, digits, '.', '-')`);
  if (typeof archetype !== 'string' || !/^[a-z0-9-]{1,40}$/.test(archetype)) throw new ConfigError(`${where}: persona.archetype ${JSON.stringify(archetype)} is not a slug`);
  if (typeof distro !== 'string' || !/^[a-z0-9-]{1,40}$/.test(distro)) throw new ConfigError(`${where}: persona.distro ${JSON.stringify(distro)} is not a slug`);
  if (typeof osFamily !== 'string' || !OS_FAMILIES.includes(osFamily as OsFamily)) throw new ConfigError(`${where}: persona.osFamily must be one of ${OS_FAMILIES.join(', ')}`);
  return { hostname, archetype, distro, osFamily: osFamily as OsFamily };
}

function checkCollisions(deckies: readonly DeckyPlan[], where: string): void {
  const names = new Map<string, number>();
  const ips = new Map<string, string>();
  for (const d of deckies) {
    if (names.has(d.name)) throw new ConfigError(`${where}: decky name ${d.name} is used twice`);
    names.set(d.name, 1);
    const other = ips.get(d.ip);
    if (other) throw new ConfigError(`${where}: deckies ${other} and ${d.name} share the address ${d.ip}`);
    ips.set(d.ip, d.name);
  }
}

/** Stable identity of a decky's plan, to tell an unchanged decky from a changed one on reload. */
export function deckyFingerprint(d: DeckyPlan): string {
  return JSON.stringify([d.name, d.ip, d.persona, d.lowPortOffset ?? 0, d.services.map((s) => [s.name, s.ports ?? null, s.config ? Object.entries(s.config).sort() : null])]);
}
