// IPv4 subnets and address allocation for deckies: ascending host addresses of the subnet, never
// the network or broadcast address, the gateway, an address this machine already has, or one
// reserved by the plan (explicit `ip=` of other deckies).
import { networkInterfaces } from 'node:os';
import { ConfigError } from '../core/errors.ts';

export interface Subnet {
  /** Canonical `a.b.c.d/n`. */
  cidr: string;
  network: number;
  prefix: number;
  broadcast: number;
  /** Number of usable host addresses. */
  size: number;
}

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): number | undefined {
  const m = OCTETS.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function parseSubnet(text: string, where = 'subnet'): Subnet {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  const addr = m ? parseIpv4(m[1]) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || addr === undefined || !(prefix >= 0 && prefix <= 32)) throw new ConfigError(`${where}: ${JSON.stringify(text)} is not an IPv4 subnet like 192.168.1.0/24`);
  if (prefix > 30) throw new ConfigError(`${where}: /${prefix} leaves no room for deckies; use a prefix of /30 or shorter`);
  if (prefix < 8) throw new ConfigError(`${where}: /${prefix} is implausibly large for a decoy LAN; use /8 or longer`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (addr & mask) >>> 0;
  if (network !== addr) throw new ConfigError(`${where}: ${text} is not a network address; did you mean ${formatIpv4(network)}/${prefix}?`);
  const broadcast = (network | (~mask >>> 0)) >>> 0;
  return { cidr: `${formatIpv4(network)}/${prefix}`, network, prefix, broadcast, size: broadcast - network - 1 };
}

export function inSubnet(subnet: Subnet, ip: number): boolean {
  return ip > subnet.network && ip < subnet.broadcast;
}

/** IPv4 addresses configured on this machine (they are never handed to a decky). */
export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4') out.add(a.address);
  return out;
}

export interface AllocateOptions {
  /** Default: the first host address. */
  gateway?: string;
  /** Addresses already taken (explicit ips, the machine's own). */
  reserved?: Iterable<string>;
  /** Start the search here instead of the first host address. */
  start?: string;
}

/** Gives `count` free addresses in ascending order, or throws naming the subnet and how many were found. */
export function allocateIps(subnet: Subnet, count: number, opts: AllocateOptions = {}): string[] {
  const taken = new Set<number>();
  for (const ip of opts.reserved ?? []) {
    const n = parseIpv4(ip);
    if (n !== undefined) taken.add(n);
  }
  const gateway = opts.gateway !== undefined ? parseIpv4(opts.gateway) : subnet.network + 1;
  if (gateway === undefined) throw new ConfigError(`gateway ${JSON.stringify(opts.gateway)} is not an IPv4 address`);
  taken.add(gateway);
  let from = subnet.network + 1;
  if (opts.start !== undefined) {
    const s = parseIpv4(opts.start);
    if (s === undefined || !inSubnet(subnet, s)) throw new ConfigError(`start address ${JSON.stringify(opts.start)} is not a host address of ${subnet.cidr}`);
    from = s;
  }
  const out: string[] = [];
  for (let ip = from; ip < subnet.broadcast && out.length < count; ip++) if (!taken.has(ip)) out.push(formatIpv4(ip));
  if (out.length < count) throw new ConfigError(`not enough free addresses in ${subnet.cidr}: need ${count}, found ${out.length} (network, broadcast, gateway and taken addresses excluded)`);
  return out;
}
