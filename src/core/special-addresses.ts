// Special-purpose IP address ranges (IANA IPv4/IPv6 special-purpose registries): which addresses
// are not on the public Internet. Enrichment labels such attackers 'private' instead of looking
// them up; the webhook SSRF guard refuses to connect to them. Pure and dependency-free.
import { isIPv4, isIPv6 } from 'node:net';

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved';

/** Classes an operator may allow as webhook destinations (internal networks, not nonsense). */
export const INTERNAL_CLASSES: ReadonlySet<AddressClass> = new Set(['loopback', 'private', 'shared', 'link-local', 'unique-local']);

/** IPv4 text → unsigned 32-bit number, or undefined when it is not a dotted quad. */
export function ipv4ToNumber(ip: string): number | undefined {
  if (!isIPv4(ip)) return undefined;
  const parts = ip.split('.');
  return ((Number(parts[0]) << 24) >>> 0) + (Number(parts[1]) << 16) + (Number(parts[2]) << 8) + Number(parts[3]);
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** IPv6 text (any valid form, with an embedded IPv4 tail or a zone) → 128-bit BigInt, or undefined. */
export function ipv6ToBigInt(ip: string): bigint | undefined {
  const zone = ip.indexOf('%');
  const addr = zone < 0 ? ip : ip.slice(0, zone);
  if (!isIPv6(addr)) return undefined;
  let text = addr;
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4ToNumber(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const double = text.indexOf('::');
  let groups: string[];
  if (double >= 0) {
    const head = text.slice(0, double) === '' ? [] : text.slice(0, double).split(':');
    const rest = text.slice(double + 2) === '' ? [] : text.slice(double + 2).split(':');
    groups = [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  } else {
    groups = text.split(':');
  }
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  return value;
}

export function bigIntToIpv6(value: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952: the longest run (at least two) of zero groups becomes '::'.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

type V4Range = [base: number, prefix: number, cls: AddressClass];

const V4: readonly V4Range[] = [
  [0x00000000, 8, 'unspecified'], // 0.0.0.0/8 "this network"
  [0x0a000000, 8, 'private'], // 10/8
  [0x64400000, 10, 'shared'], // 100.64/10 carrier-grade NAT
  [0x7f000000, 8, 'loopback'], // 127/8
  [0xa9fe0000, 16, 'link-local'], // 169.254/16
  [0xac100000, 12, 'private'], // 172.16/12
  [0xc0000000, 24, 'reserved'], // 192.0.0/24 IETF protocol assignments
  [0xc0000200, 24, 'documentation'], // 192.0.2/24 TEST-NET-1
  [0xc0586300, 24, 'reserved'], // 192.88.99/24 former 6to4 relay anycast
  [0xc0a80000, 16, 'private'], // 192.168/16
  [0xc6120000, 15, 'benchmarking'], // 198.18/15
  [0xc6336400, 24, 'documentation'], // 198.51.100/24 TEST-NET-2
  [0xcb007100, 24, 'documentation'], // 203.0.113/24 TEST-NET-3
  [0xe0000000, 4, 'multicast'], // 224/4
  [0xf0000000, 4, 'reserved'], // 240/4 and the broadcast address
];

export function classifyIpv4Number(n: number): AddressClass {
  for (const [base, prefix, cls] of V4) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if (((n & mask) >>> 0) === base) return cls;
  }
  return 'public';
}

type V6Range = [base: bigint, prefix: number, cls: AddressClass | 'embedded-v4'];

const v6 = (text: string): bigint => ipv6ToBigInt(text)!;

const V6: readonly V6Range[] = [
  [0n, 128, 'unspecified'], // ::
  [1n, 128, 'loopback'], // ::1
  [v6('::ffff:0:0'), 96, 'embedded-v4'], // IPv4-mapped: judge the IPv4 address
  [v6('64:ff9b::'), 96, 'embedded-v4'], // NAT64 well-known prefix
  [v6('64:ff9b:1::'), 48, 'private'], // local-use NAT64
  [0n, 96, 'reserved'], // IPv4-compatible (deprecated)
  [v6('100::'), 64, 'reserved'], // discard-only
  [v6('2001:db8::'), 32, 'documentation'],
  [v6('2001::'), 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID, benchmarking…)
  [v6('2002::'), 16, 'embedded-v4'], // 6to4: the IPv4 address is bits 16-47
  [v6('3fff::'), 20, 'documentation'],
  [v6('5f00::'), 16, 'reserved'], // SRv6 SIDs
  [v6('fc00::'), 7, 'unique-local'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'private'], // site-local (deprecated)
  [v6('ff00::'), 8, 'multicast'],
];

const ALL_ONES = (1n << 128n) - 1n;

export function classifyIpv6BigInt(value: bigint): AddressClass {
  for (const [base, prefix, cls] of V6) {
    const mask = (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
    if ((value & mask) !== base) continue;
    if (cls !== 'embedded-v4') return cls;
    const v4 = base === v6('2002::') ? Number((value >> 80n) & 0xffffffffn) : Number(value & 0xffffffffn);
    return classifyIpv4Number(v4);
  }
  // Only 2000::/3 is allocated as global unicast; everything else is reserved by IANA.
  return value >> 125n === 1n ? 'public' : 'reserved';
}

/** The class of an address; undefined when the text is not an IP address. */
export function classifyAddress(ip: string): AddressClass | undefined {
  const n4 = ipv4ToNumber(ip);
  if (n4 !== undefined) return classifyIpv4Number(n4);
  const n6 = ipv6ToBigInt(ip);
  return n6 === undefined ? undefined : classifyIpv6BigInt(n6);
}
