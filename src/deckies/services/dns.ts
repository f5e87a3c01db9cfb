// DNS decoy (UDP and TCP 53): an authoritative server for the decky's domain (BIND 9 on Linux
// personas, Microsoft DNS on Windows ones) with a small, plausible zone: SOA, NS, MX, SPF, hosts in
// the decky's own subnet, AD service records for Windows domains, and the matching reverse zone.
// It never recurses: names outside its zones are REFUSED. Zone transfers are refused (or, when
// configured, answered with the bait zone) and recorded; version.bind is answered per persona.
// Every query is recorded with name, type, class and transport.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { isIPv4 } from 'node:net';
import { ByteQueue } from '../proto/byte-queue.ts';
import {
  AA,
  CLASSES,
  DnsFormatError,
  QR,
  RCODE,
  RD,
  TC,
  TYPES,
  canonicalName,
  className,
  decodeMessage,
  ednsOf,
  encodeMessage,
  encodeName,
  opcodeOf,
  optRecord,
  peekHeader,
  rdataA,
  rdataAAAA,
  rdataMx,
  rdataSoa,
  rdataSrv,
  rdataTxt,
  typeName,
  type Edns,
  type Message,
  type ResourceRecord,
} from '../proto/dns-message.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import { deckyDomain } from '../proto/site-domain.ts';
import { personaFacts } from '../personas/facts.ts';
import type { DecoyService, Peer, ServiceContext, Session } from '../service.ts';

const CD = 0x0010;
const OPT_NSID = 3;
const OPT_COOKIE = 10;
const UDP_PLAIN_LIMIT = 512;

/** BIND versions as each distribution's package reports them. */
const BIND_VERSIONS: Record<string, string> = {
  debian: '9.18.28-1~deb12u2-Debian',
  ubuntu22: '9.18.28-0ubuntu0.22.04.1-Ubuntu',
  ubuntu20: '9.16.48-0ubuntu0.20.04.1-Ubuntu',
  rocky9: '9.16.23-RH',
  centos7: '9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16',
  alpine: '9.18.27',
  fedora: '9.18.26',
  kali: '9.20.0-1-Debian',
  arch: '9.20.1',
};

interface Zone {
  /** Apex, canonical (lower case, no trailing dot). */
  apex: string;
  records: Map<string, ResourceRecord[]>;
  soa: ResourceRecord;
}

function rr(name: string, type: number, ttl: number, data: Buffer, cls = CLASSES.IN!): ResourceRecord {
  return { name, type, class: cls, ttl, data };
}

function addRecord(zone: Zone, r: ResourceRecord): void {
  const key = canonicalName(r.name);
  const list = zone.records.get(key) ?? [];
  list.push(r);
  zone.records.set(key, list);
}

/** Host addresses in the decky's /24 (or 10.0.0.0/24 for non-IPv4 deckies), distinct from its own. */
function subnetAllocator(ip: string, seed: Seeded): () => string {
  const base = isIPv4(ip) ? ip.split('.').slice(0, 3).join('.') : '10.0.0';
  const used = new Set<number>([0, 1, 255, isIPv4(ip) ? Number(ip.split('.')[3]) : -1]);
  return () => {
    for (;;) {
      const n = seed.int(2, 250);
      if (!used.has(n)) {
        used.add(n);
        return `${base}.${n}`;
      }
    }
  };
}

interface BuiltZones {
  forward: Zone;
  reverse?: Zone;
}

function buildZones(ctx: ServiceContext, domain: string, windows: boolean): BuiltZones {
  const seed = new Seeded(ctx.decky.name, 'dns');
  const facts = personaFacts(ctx.decky.persona);
  const host = facts.shortHostname.toLowerCase();
  const next = subnetAllocator(ctx.decky.ip, seed);
  const ttl = windows ? 3600 : 86400;
  const nsName = windows ? `${host}.${domain}` : `ns1.${domain}`;
  // BIND admins use YYYYMMDDnn serials (last edit a few weeks ago); Windows counts up from 1.
  const edited = new Date(Date.now() - seed.int(3, 60) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '');
  const serial = windows ? seed.int(40, 900) : Number(`${edited}0${seed.int(1, 9)}`);
  const soaData = rdataSoa({
    mname: nsName,
    rname: `hostmaster.${domain}`,
    serial,
    refresh: windows ? 900 : 604800,
    retry: windows ? 600 : 86400,
    expire: windows ? 86400 : 2419200,
    minimum: windows ? 3600 : 86400,
  });
  const zone: Zone = { apex: domain, records: new Map(), soa: rr(domain, TYPES.SOA!, ttl, soaData) };
  addRecord(zone, zone.soa);
  const a = (name: string, ip: string): void => addRecord(zone, rr(name, TYPES.A!, ttl, rdataA(ip)));
  const deckyIp = isIPv4(ctx.decky.ip) ? ctx.decky.ip : next();
  addRecord(zone, rr(domain, TYPES.NS!, ttl, encodeName(nsName)));
  a(`${host}.${domain}`, deckyIp);
  if (!windows) {
    a(nsName, deckyIp);
    const ns2 = `ns2.${domain}`;
    addRecord(zone, rr(domain, TYPES.NS!, ttl, encodeName(ns2)));
    a(ns2, next());
  }
  const web = next();
  const mail = next();
  a(domain, web);
  a(`www.${domain}`, web);
  a(`mail.${domain}`, mail);
  addRecord(zone, rr(domain, TYPES.MX!, ttl, rdataMx(10, `mail.${domain}`)));
  addRecord(zone, rr(domain, TYPES.TXT!, ttl, rdataTxt([`v=spf1 mx ip4:${mail} -all`])));
  addRecord(zone, rr(`webmail.${domain}`, TYPES.CNAME!, ttl, encodeName(`mail.${domain}`)));
  addRecord(zone, rr(`ftp.${domain}`, TYPES.CNAME!, ttl, encodeName(`www.${domain}`)));
  for (const name of ['vpn', 'intranet', 'gitlab', 'jenkins', 'backup', 'fs01', 'printer01', 'wiki']) a(`${name}.${domain}`, next());
  if (windows) {
    const dcHost = ctx.decky.persona.archetype === 'domain-controller' ? `${host}.${domain}` : `dc01.${domain}`;
    if (dcHost !== `${host}.${domain}`) a(dcHost, next());
    const srv = (name: string, port: number): void => addRecord(zone, rr(`${name}.${domain}`, TYPES.SRV!, 600, rdataSrv(0, 100, port, dcHost)));
    srv('_ldap._tcp', 389);
    srv('_kerberos._tcp', 88);
    srv('_kerberos._udp', 88);
    srv('_kpasswd._tcp', 464);
    srv('_gc._tcp', 3268);
    srv('_ldap._tcp.dc._msdcs', 389);
    srv('_kerberos._tcp.dc._msdcs', 88);
    srv('_ldap._tcp.pdc._msdcs', 389);
  }
  applyExtraRecords(ctx, zone, ctx.config.extra_records ?? '');

  // Reverse zone of the decky's /24 with a PTR for every A record inside it.
  let reverse: Zone | undefined;
  if (isIPv4(ctx.decky.ip)) {
    const [o1, o2, o3] = ctx.decky.ip.split('.');
    const apex = `${o3}.${o2}.${o1}.in-addr.arpa`;
    reverse = { apex, records: new Map(), soa: rr(apex, TYPES.SOA!, ttl, soaData) };
    addRecord(reverse, reverse.soa);
    addRecord(reverse, rr(apex, TYPES.NS!, ttl, encodeName(nsName)));
    const prefix = `${o1}.${o2}.${o3}.`;
    const seen = new Set<string>();
    for (const list of zone.records.values()) {
      for (const r of list) {
        if (r.type !== TYPES.A || r.name === domain) continue;
        const ip = [...r.data].join('.');
        if (!ip.startsWith(prefix) || seen.has(ip)) continue;
        seen.add(ip);
        addRecord(reverse, rr(`${ip.split('.')[3]}.${apex}`, TYPES.PTR!, ttl, encodeName(r.name)));
      }
    }
  }
  return { forward: zone, reverse };
}

/** `name TYPE value` entries separated by ';' or newlines; names are relative to the zone ('@' = apex). */
function applyExtraRecords(ctx: ServiceContext, zone: Zone, spec: string): void {
  for (const raw of spec.split(/[;\n]/)) {
    const entry = raw.trim();
    if (!entry) continue;
    const parts = entry.split(/\s+/);
    const [label, type, ...rest] = parts;
    const name = label === '@' ? zone.apex : label!.endsWith('.') ? canonicalName(label!) : `${label!.toLowerCase()}.${zone.apex}`;
    try {
      if (!name.endsWith(zone.apex) || rest.length === 0) throw new DnsFormatError('name outside the zone or missing value');
      const t = (type ?? '').toUpperCase();
      const value = rest.join(' ');
      const data =
        t === 'A' ? rdataA(value)
        : t === 'AAAA' ? rdataAAAA(value)
        : t === 'CNAME' || t === 'NS' || t === 'PTR' ? encodeName(value)
        : t === 'TXT' ? rdataTxt([value.replace(/^"|"$/g, '')])
        : t === 'MX' ? rdataMx(Number(rest[0]), rest[1] ?? '')
        : t === 'SRV' ? rdataSrv(Number(rest[0]), Number(rest[1]), Number(rest[2]), rest[3] ?? '')
        : undefined;
      if (!data) throw new DnsFormatError(`unsupported record type ${t}`);
      addRecord(zone, rr(name, TYPES[t]!, 3600, data));
    } catch (err) {
      ctx.log.warn('dns extra_records entry ignored', { entry: clip(entry, 128), err: (err as Error).message });
    }
  }
}

interface Answer {
  rcode: number;
  aa: boolean;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

const service: DecoyService = {
  name: 'dns',
  summary: 'DNS server',
  listens: [
    { port: 53, transport: 'udp' },
    { port: 53, transport: 'tcp' },
  ],
  personaKeys: {
    domain: { summary: 'zone served authoritatively (auto: from the host name, else corp.local)', default: 'auto' },
    bind_version: { summary: 'answer to version.bind (auto: per persona; none: refuse)', default: 'auto' },
    nsid: { summary: 'EDNS NSID returned when asked (empty: none)', default: '' },
    extra_records: { summary: 'extra zone records: "name TYPE value; ..." (A, AAAA, CNAME, MX, TXT, NS, SRV, PTR)', default: '' },
    allow_axfr: { summary: 'answer zone transfers with the bait zone instead of refusing', default: 'false', choices: ['true', 'false'] },
  },
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const windows = facts.windows !== undefined;
    const domain = deckyDomain(ctx.decky.persona, ctx.config.domain);
    const { forward, reverse } = buildZones(ctx, domain, windows);
    const zones = reverse ? [forward, reverse] : [forward];
    const seed = new Seeded(ctx.decky.name, 'dns-version');
    const version =
      ctx.config.bind_version && ctx.config.bind_version !== 'auto'
        ? ctx.config.bind_version
        : windows
          ? `Microsoft DNS ${facts.windows!.version} (${seed.hex(8).toUpperCase()})`
          : (BIND_VERSIONS[facts.distro] ?? BIND_VERSIONS.debian!);
    const hideVersion = ctx.config.bind_version === 'none';
    const ednsSize = windows ? 4000 : /^9\.(\d|1[01])\./.test(version) ? 4096 : 1232;
    const cookieSecret = seed.bytes(16);
    const allowAxfr = ctx.config.allow_axfr === 'true';

    const zoneOf = (name: string): Zone | undefined => zones.find((z) => name === z.apex || name.endsWith(`.${z.apex}`));

    const soaAuthority = (z: Zone): ResourceRecord[] => [z.soa];

    const glue = (targets: ResourceRecord[]): ResourceRecord[] => {
      const out: ResourceRecord[] = [];
      for (const r of targets) {
        let target: string | undefined;
        try {
          if (r.type === TYPES.MX) target = decodeRdataName(r.data, 2);
          else if (r.type === TYPES.NS) target = decodeRdataName(r.data, 0);
          else if (r.type === TYPES.SRV) target = decodeRdataName(r.data, 6);
        } catch {
          target = undefined;
        }
        if (!target) continue;
        for (const g of forward.records.get(canonicalName(target)) ?? []) if (g.type === TYPES.A && !out.includes(g)) out.push(g);
      }
      return out;
    };

    const lookup = (qname: string, qtype: number): Answer => {
      const name = canonicalName(qname);
      const z = zoneOf(name);
      if (!z) return { rcode: RCODE.REFUSED, aa: false, answers: [], authority: [], additional: [] };
      const answers: ResourceRecord[] = [];
      let current = name;
      for (let hops = 0; hops < 8; hops++) {
        const rrs = z.records.get(current);
        if (!rrs) {
          if (answers.length > 0) break;
          const emptyNonTerminal = [...z.records.keys()].some((k) => k.endsWith(`.${current}`));
          return { rcode: emptyNonTerminal ? RCODE.NOERROR : RCODE.NXDOMAIN, aa: true, answers: [], authority: soaAuthority(z), additional: [] };
        }
        const matching = qtype === TYPES.ANY ? rrs : rrs.filter((r) => r.type === qtype);
        if (matching.length > 0) {
          answers.push(...matching);
          break;
        }
        const cname = rrs.find((r) => r.type === TYPES.CNAME);
        if (!cname || qtype === TYPES.CNAME) break;
        answers.push(cname);
        current = canonicalName(decodeRdataName(cname.data, 0));
        if (!zoneOf(current)) break;
      }
      if (answers.length === 0) return { rcode: RCODE.NOERROR, aa: true, answers: [], authority: soaAuthority(z), additional: [] };
      return { rcode: RCODE.NOERROR, aa: true, answers, authority: [], additional: glue(answers) };
    };

    const chaos = (qname: string, qtype: number): Answer => {
      const name = canonicalName(qname);
      const refused: Answer = { rcode: RCODE.REFUSED, aa: false, answers: [], authority: [], additional: [] };
      if (qtype !== TYPES.TXT && qtype !== TYPES.ANY) return refused;
      let text: string | undefined;
      if ((name === 'version.bind' || name === 'version.server') && !hideVersion) text = version;
      else if ((name === 'hostname.bind' || name === 'id.server') && !windows) text = facts.shortHostname;
      if (text === undefined) return refused;
      return {
        rcode: RCODE.NOERROR,
        aa: true,
        answers: [rr(name, TYPES.TXT!, 0, rdataTxt([text]), CLASSES.CH!)],
        authority: [rr(name, TYPES.NS!, 0, encodeName(name), CLASSES.CH!)],
        additional: [],
      };
    };

    const ednsReply = (edns: Edns | undefined, peer: Peer): ResourceRecord | undefined => {
      if (!edns) return undefined;
      const options: { code: number; data: Buffer }[] = [];
      if (edns.options.some((o) => o.code === OPT_NSID) && ctx.config.nsid) options.push({ code: OPT_NSID, data: Buffer.from(ctx.config.nsid, 'latin1').subarray(0, 64) });
      const cookie = edns.options.find((o) => o.code === OPT_COOKIE);
      if (cookie && cookie.data.length >= 8 && !windows) {
        // RFC 7873 / 9018 server cookie: version 1, timestamp, and a keyed hash of client cookie and address.
        const client = cookie.data.subarray(0, 8);
        const ts = Buffer.alloc(4);
        ts.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0);
        const hash = createHash('sha256').update(cookieSecret).update(client).update(ts).update(peer.srcIp).digest().subarray(0, 8);
        options.push({ code: OPT_COOKIE, data: Buffer.concat([client, Buffer.from([1, 0, 0, 0]), ts, hash]) });
      }
      return optRecord(ednsSize, options, edns.doBit);
    };

    /** Builds the reply for one query and records it; undefined means stay silent. */
    const handle = (msg: Buffer, peer: Peer, transport: 'udp' | 'tcp', record: (event: string, fields: Record<string, string | number | boolean | undefined>) => void): Buffer[] | undefined => {
      let q: Message;
      try {
        q = decodeMessage(msg);
      } catch (err) {
        const head = peekHeader(msg);
        record('payload', { reason: 'malformed', transport, error: clip((err as Error).message, 128), data_hex: hexPreview(msg) });
        if (!head || head.flags & QR || msg.length < 12) return undefined;
        const out = Buffer.alloc(12);
        out.writeUInt16BE(head.id, 0);
        out.writeUInt16BE(QR | (head.flags & 0x7900) | RCODE.FORMERR, 2);
        return [out];
      }
      if (q.flags & QR) {
        record('payload', { reason: 'unsolicited_response', transport, data_hex: hexPreview(msg) });
        return undefined;
      }
      const opcode = opcodeOf(q.flags);
      const question = q.questions[0];
      const edns = ednsOf(q);
      const base = {
        qname: question ? clip(question.name || '.', 255) : undefined,
        qtype: question ? typeName(question.type) : undefined,
        qclass: question ? className(question.class) : undefined,
        transport,
        opcode: opcode === 0 ? undefined : opcode,
        rd: (q.flags & RD) !== 0,
        edns_size: edns?.udpSize,
      };
      const reply = (a: Answer, questions = q.questions): Buffer => {
        const opt = ednsReply(edns, peer);
        const flags = QR | (q.flags & 0x7800) | (a.aa ? AA : 0) | (q.flags & RD) | (q.flags & CD) | a.rcode;
        const full: Message = { id: q.id, flags, questions, answers: a.answers, authorities: a.authority, additionals: opt ? [...a.additional, opt] : a.additional };
        let out = encodeMessage(full);
        const limit = transport === 'tcp' ? 65535 : edns ? Math.min(edns.udpSize, ednsSize) : UDP_PLAIN_LIMIT;
        if (out.length > limit) {
          out = encodeMessage({ ...full, flags: flags | TC, answers: [], authorities: [], additionals: opt ? [opt] : [] });
        }
        return out;
      };
      const refuse = (rcode: number, event = 'query'): Buffer[] => {
        record(event, { ...base, rcode: rcodeName(rcode) });
        return [reply({ rcode, aa: false, answers: [], authority: [], additional: [] })];
      };

      if (opcode !== 0) return refuse(opcode === 5 || opcode === 4 ? RCODE.REFUSED : RCODE.NOTIMP);
      if (q.questions.length !== 1 || !question) return refuse(RCODE.FORMERR);
      if (question.type === TYPES.AXFR || question.type === TYPES.IXFR) {
        const z = zoneOf(canonicalName(question.name));
        const allowed = allowAxfr && transport === 'tcp' && z !== undefined;
        record('zone_transfer', { ...base, allowed });
        if (!allowed) return [reply({ rcode: RCODE.REFUSED, aa: false, answers: [], authority: [], additional: [] })];
        const body: ResourceRecord[] = [];
        for (const list of z.records.values()) for (const r of list) if (r.type !== TYPES.SOA) body.push(r);
        return [reply({ rcode: RCODE.NOERROR, aa: true, answers: [z.soa, ...body, z.soa], authority: [], additional: [] })];
      }
      let a: Answer;
      if (question.class === CLASSES.CH) a = chaos(question.name, question.type);
      else if (question.class === CLASSES.IN || question.class === CLASSES.ANY) a = lookup(question.name, question.type);
      else a = { rcode: RCODE.REFUSED, aa: false, answers: [], authority: [], additional: [] };
      record('query', { ...base, rcode: rcodeName(a.rcode), answers: a.answers.length });
      return [reply(a)];
    };

    const onTcp = (socket: Socket, session: Session): void => {
      const q = new ByteQueue(65537);
      const drain = (): boolean => {
        while (q.length >= 2) {
          const len = q.peek(2).readUInt16BE(0);
          if (q.length < 2 + len) return true;
          const msg = q.take(2 + len).subarray(2);
          const out = handle(msg, session.peer, 'tcp', (e, f) => session.record(e, f));
          if (!out) {
            socket.end();
            return false;
          }
          for (const m of out) {
            const head = Buffer.alloc(2);
            head.writeUInt16BE(m.length);
            socket.write(Buffer.concat([head, m]));
          }
        }
        return true;
      };
      socket.on('data', (chunk: Buffer) => {
        if (!socket.destroyed && !q.feed(chunk, drain)) socket.destroy();
      });
    };

    return {
      onConnection: onTcp,
      onDatagram(msg, peer, reply) {
        const out = handle(msg, peer, 'udp', (e, f) => ctx.record(e, peer, f));
        if (out) for (const m of out) reply(m);
      },
    };
  },
};

function rcodeName(rcode: number): string {
  return Object.entries(RCODE).find(([, v]) => v === rcode)?.[0] ?? String(rcode);
}

/** A name at `offset` of rdata we built ourselves (uncompressed). */
function decodeRdataName(data: Buffer, offset: number): string {
  const labels: string[] = [];
  let pos = offset;
  while (pos < data.length && data[pos] !== 0) {
    const len = data[pos]!;
    labels.push(data.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
  }
  return labels.join('.');
}

export default service;
