// Turns decky requests (from the INI file or the command line) into a validated deploy plan:
// addresses, personas (archetype, distro, host name) and services.
import { ConfigError } from '../core/errors.ts';
import { SERVICES, findService, serviceNames } from '../deckies/catalog.ts';
import { ARCHETYPES, findArchetype, type Archetype } from '../deckies/personas/archetypes.ts';
import { buildPersona } from '../deckies/personas/build.ts';
import { DISTROS, findDistro } from '../deckies/personas/distros.ts';
import { DECKY_NAME, validatePlan, type DeckyPlan, type DeployPlan, type ServicePlan } from '../deckies/plan.ts';
import type { OsFamily } from '../deckies/service.ts';
import { allocateIps, inSubnet, localAddresses, parseIpv4, parseSubnet } from './ip.ts';

export interface DeckyRequest {
  name: string;
  /** Where the request came from, for error messages (e.g. `fleet.ini:12`). */
  where: string;
  ip?: string;
  services?: string[];
  archetype?: string;
  distro?: string;
  hostname?: string;
  osFamily?: OsFamily;
  mutateInterval?: number;
  /** Per-service persona keys; `configWhere` gives each service's source location. */
  config?: Record<string, Record<string, string>>;
  configWhere?: Record<string, string>;
}

export interface NetworkRequest {
  subnet?: string;
  gateway?: string;
  interface?: string;
  ipStart?: string;
}

export const DEFAULT_SUBNET = '127.77.0.0/24';
const MAX_RANDOM_ATTEMPTS = 20;

/** The archetype whose services overlap most with `services` (Jaccard), preferring the OS family if given. */
function inferArchetype(services: readonly string[], osFamily?: OsFamily): Archetype {
  let best = findArchetype(osFamily === 'windows' ? 'windows-server' : 'linux-server')!;
  let bestScore = -1;
  for (const a of ARCHETYPES) {
    if (osFamily && a.osFamily !== osFamily) continue;
    const inter = a.services.filter((s) => services.includes(s)).length;
    const union = new Set([...a.services, ...services]).size;
    const score = union === 0 ? 0 : inter / union;
    if (score > bestScore) {
      best = a;
      bestScore = score;
    }
  }
  return best;
}

function randomServices(random: () => number, used: Set<string>): string[] {
  const names = serviceNames();
  let pick: string[] = [];
  for (let attempt = 0; attempt < MAX_RANDOM_ATTEMPTS; attempt++) {
    const n = 1 + Math.floor(random() * 3);
    const pool = [...names];
    pick = [];
    while (pick.length < n) pick.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
    pick.sort();
    if (!used.has(pick.join(','))) break;
  }
  used.add(pick.join(','));
  return pick;
}

/**
 * Builds the plan. `randomize` gives deckies without services or archetype 1-3 random services
 * (avoiding repeated combinations); otherwise such a decky is an error.
 */
export function buildPlan(requests: readonly DeckyRequest[], net: NetworkRequest, opts: { randomize?: boolean; random?: () => number } = {}): DeployPlan {
  const random = opts.random ?? Math.random;
  if (requests.length === 0) throw new ConfigError('nothing to deploy: no deckies were requested');
  const subnet = parseSubnet(net.subnet ?? DEFAULT_SUBNET, 'subnet');
  const gateway = net.gateway ?? undefined;
  if (gateway !== undefined) {
    const g = parseIpv4(gateway);
    if (g === undefined || !inSubnet(subnet, g)) throw new ConfigError(`gateway ${gateway} is not a host address of ${subnet.cidr}`);
  }

  const names = new Set<string>();
  const explicit = new Map<string, string>();
  for (const r of requests) {
    if (!DECKY_NAME.test(r.name)) throw new ConfigError(`${r.where}: decky name ${JSON.stringify(r.name)} must be 1-63 of [A-Za-z0-9_-] (no dots), starting with a letter or digit`);
    if (names.has(r.name)) throw new ConfigError(`${r.where}: decky name ${r.name} is used twice`);
    names.add(r.name);
    if (r.ip !== undefined) {
      const n = parseIpv4(r.ip);
      if (n === undefined) throw new ConfigError(`${r.where}: ip ${JSON.stringify(r.ip)} is not an IPv4 address`);
      if (!inSubnet(subnet, n)) throw new ConfigError(`${r.where}: ip ${r.ip} is not a host address of ${subnet.cidr}`);
      if (r.ip === gateway) throw new ConfigError(`${r.where}: ip ${r.ip} is the gateway`);
      const other = explicit.get(r.ip);
      if (other) throw new ConfigError(`${r.where}: ip ${r.ip} is already given to ${other}`);
      explicit.set(r.ip, r.name);
    }
  }
  const reserved = new Set([...explicit.keys(), ...localAddresses()]);
  const auto = allocateIps(subnet, requests.filter((r) => r.ip === undefined).length, { gateway, reserved, start: net.ipStart });

  const usedCombos = new Set<string>();
  const perArchetypeIndex = new Map<string, number>();
  const deckies: DeckyPlan[] = requests.map((r) => {
    for (const s of r.services ?? []) {
      if (!findService(s)) throw new ConfigError(`${r.where}: unknown service ${JSON.stringify(s)} (known: ${serviceNames().join(', ')})`);
    }
    let archetype: Archetype | undefined;
    if (r.archetype !== undefined) {
      archetype = findArchetype(r.archetype);
      if (!archetype) throw new ConfigError(`${r.where}: unknown archetype ${JSON.stringify(r.archetype)} (known: ${ARCHETYPES.map((a) => a.slug).join(', ')})`);
      if (r.osFamily && r.osFamily !== archetype.osFamily) throw new ConfigError(`${r.where}: nmap_os ${r.osFamily} conflicts with archetype ${archetype.slug} (${archetype.osFamily})`);
    }
    let services = r.services && r.services.length > 0 ? [...new Set(r.services)] : archetype ? [...archetype.services] : undefined;
    if (!services) {
      if (!opts.randomize) throw new ConfigError(`${r.where}: decky ${r.name} has no services: give services=, an archetype=, or deploy with --randomize-services`);
      services = randomServices(random, usedCombos);
    }
    archetype ??= inferArchetype(services, r.osFamily);
    const index = perArchetypeIndex.get(archetype.slug) ?? 0;
    perArchetypeIndex.set(archetype.slug, index + 1);
    if (r.distro !== undefined && !findDistro(r.distro)) {
      throw new ConfigError(`${r.where}: unknown distro ${JSON.stringify(r.distro)} (known: ${DISTROS.map((d) => d.slug).join(', ')}, or a Windows build win10, win11, win2016, win2019, win2022)`);
    }
    let persona;
    try {
      persona = buildPersona({ archetype: archetype.slug, distro: r.distro, hostname: r.hostname, distroIndex: index }, random);
    } catch (err) {
      throw new ConfigError(`${r.where}: ${(err as Error).message}`);
    }
    const svcPlans: ServicePlan[] = services.map((name) => {
      const config = r.config?.[name];
      return config && Object.keys(config).length > 0 ? { name, config } : { name };
    });
    for (const svc of Object.keys(r.config ?? {})) {
      if (!services.includes(svc)) throw new ConfigError(`${r.configWhere?.[svc] ?? r.where}: settings for ${svc}, but decky ${r.name} does not run ${svc} (it runs ${services.join(', ')})`);
    }
    const decky: DeckyPlan = { name: r.name, ip: r.ip ?? auto.shift()!, persona, services: svcPlans };
    if (r.mutateInterval !== undefined) decky.mutateInterval = r.mutateInterval;
    return decky;
  });

  const plan: DeployPlan = { version: 1, generated: new Date().toISOString(), subnet: subnet.cidr, deckies };
  if (gateway) plan.gateway = gateway;
  if (net.interface) plan.interface = net.interface;
  return validatePlan(plan, serviceNames(), 'deploy plan');
}

/** Loads each service that has persona settings and checks keys and values against its personaKeys. */
export async function checkServiceConfig(plan: DeployPlan, whereOf: (decky: string, service: string) => string): Promise<void> {
  const needed = new Set(plan.deckies.flatMap((d) => d.services.filter((s) => s.config).map((s) => s.name)));
  const modules = new Map<string, Awaited<ReturnType<(typeof SERVICES)[number]['load']>>>();
  for (const name of needed) {
    try {
      modules.set(name, await findService(name)!.load());
    } catch (err) {
      throw new ConfigError(`cannot check the ${name} settings: the service module failed to load (${(err as Error).message})`);
    }
  }
  for (const d of plan.deckies) {
    for (const s of d.services) {
      if (!s.config) continue;
      const mod = modules.get(s.name)!;
      for (const [k, v] of Object.entries(s.config)) {
        const spec = mod.personaKeys[k];
        const where = whereOf(d.name, s.name);
        if (!spec) {
          const known = Object.keys(mod.personaKeys);
          throw new ConfigError(`${where}: ${s.name} has no setting ${JSON.stringify(k)} (${known.length ? `known: ${known.join(', ')}` : 'it takes no settings'})`);
        }
        if (spec.choices && !spec.choices.includes(v)) throw new ConfigError(`${where}: ${s.name}.${k} must be one of ${spec.choices.join(', ')}; got ${JSON.stringify(v)}`);
      }
    }
  }
}
