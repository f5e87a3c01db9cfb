// SNMP agent decoy (UDP 161): v1 and v2c GET, GETNEXT, GETBULK and SET against a small MIB-II view
// (system, interfaces, ip addresses, host resources) that matches the decky's persona; a wrong
// community gets no answer at all, exactly like a real agent, and is recorded as a failed
// authentication with the community as the secret. SNMPv3 requests get the USM reports of an agent
// that knows no users (engine discovery, then "unknown user name"); the user name is recorded, and an
// authenticated request's HMAC is kept in the $SNMPv3$ layout offline crackers read.
import {
  BerError,
  BerReader,
  CONTEXT,
  T_INTEGER,
  T_OCTET_STRING,
  T_OID,
  compareOid,
  decodeOid,
  decodeSignedNumber,
  decodeUnsigned,
  integer,
  nullValue,
  octetString,
  oid,
  readTlv,
  sequence,
  tlv,
  unsigned,
} from '../proto/ber.ts';
import { clip, hexPreview, textPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import { personaFacts, type PersonaFacts } from '../personas/facts.ts';
import type { DecoyService, DeckyInfo, Peer } from '../service.ts';

const PDU_GET = 0xa0;
const PDU_GETNEXT = 0xa1;
const PDU_RESPONSE = 0xa2;
const PDU_SET = 0xa3;
const PDU_TRAP = 0xa4;
const PDU_GETBULK = 0xa5;
const PDU_INFORM = 0xa6;
const PDU_TRAP2 = 0xa7;
const PDU_REPORT = 0xa8;

const PDU_NAMES: Record<number, string> = {
  [PDU_GET]: 'get',
  [PDU_GETNEXT]: 'getnext',
  [PDU_RESPONSE]: 'response',
  [PDU_SET]: 'set',
  [PDU_TRAP]: 'trap',
  [PDU_GETBULK]: 'getbulk',
  [PDU_INFORM]: 'inform',
  [PDU_TRAP2]: 'trap2',
  [PDU_REPORT]: 'report',
};

// Application types (RFC 2578).
const IP_ADDRESS = 0x40;
const COUNTER32 = 0x41;
const GAUGE32 = 0x42;
const TIMETICKS = 0x43;
const COUNTER64 = 0x46;
const NO_SUCH_OBJECT = 0x80;
const NO_SUCH_INSTANCE = 0x81;
const END_OF_MIB_VIEW = 0x82;

const ERR_TOO_BIG = 1;
const ERR_NO_SUCH_NAME = 2;
const ERR_NO_ACCESS = 6;

const MAX_VARBINDS = 64;
const REPLY_BUDGET = 1200;

const USM_UNKNOWN_USER = '1.3.6.1.6.3.15.1.1.3.0';
const USM_UNKNOWN_ENGINE = '1.3.6.1.6.3.15.1.1.4.0';

interface MibEntry {
  oid: string;
  value: () => Buffer;
}

interface SystemFacts {
  descr: string;
  objectId: string;
  contact: string;
  location: string;
  services: number;
  ifaces: { descr: string; type: number; mtu: number; speed: number; mac: Buffer }[];
  hostResources: boolean;
}

function systemFacts(decky: DeckyInfo, facts: PersonaFacts, seed: Seeded): SystemFacts {
  const p = decky.persona;
  const mac = (oui: number[]): Buffer => Buffer.from([...oui, ...seed.bytes(3)]);
  if (facts.windows) {
    const build = facts.windows.build;
    const server = /server|controller/.test(p.archetype) || /Server/.test(facts.windows.productName);
    const role = p.archetype === 'domain-controller' ? '3' : server ? '2' : '1';
    return {
      descr: `Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows Version 6.3 (Build ${build} Multiprocessor Free)`,
      objectId: `1.3.6.1.4.1.311.1.1.3.1.${role}`,
      contact: '',
      location: '',
      services: 76,
      ifaces: [
        { descr: 'Software Loopback Interface 1', type: 24, mtu: 1500, speed: 1073741824, mac: Buffer.alloc(0) },
        { descr: 'Intel(R) 82574L Gigabit Network Connection', type: 6, mtu: 1500, speed: 1000000000, mac: mac([0x00, 0x50, 0x56]) },
      ],
      hostResources: true,
    };
  }
  if (p.archetype === 'printer') {
    const serial = `JSI${seed.int(20, 24)}${seed.int(100000, 999999)}`;
    return {
      descr: `HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153,EEPROM ${serial},CIDATE 05/24/2023`,
      objectId: '1.3.6.1.4.1.11.2.3.9.1',
      contact: '',
      location: '',
      services: 72,
      ifaces: [{ descr: 'HP ETHERNET MULTI-ENVIRONMENT', type: 6, mtu: 1500, speed: 100000000, mac: mac([0x3c, 0xd9, 0x2b]) }],
      hostResources: false,
    };
  }
  if (p.archetype === 'industrial-control') {
    return {
      descr: 'Schneider Electric BMX NOE 0100 Ethernet TCP/IP Module, Modicon M340, firmware v3.10',
      objectId: '1.3.6.1.4.1.3833.1.7.255.4',
      contact: '',
      location: 'Plant floor',
      services: 78,
      ifaces: [{ descr: 'Ethernet port', type: 6, mtu: 1500, speed: 100000000, mac: mac([0x00, 0x80, 0xf4]) }],
      hostResources: false,
    };
  }
  if (p.osFamily === 'embedded') {
    return {
      descr: `Linux ${facts.shortHostname} ${facts.kernelRelease} ${facts.kernelVersion} ${facts.machine}`,
      objectId: '1.3.6.1.4.1.8072.3.2.10',
      contact: 'root',
      location: 'Unknown',
      services: 72,
      ifaces: [
        { descr: 'lo', type: 24, mtu: 65536, speed: 10000000, mac: Buffer.alloc(0) },
        { descr: 'eth0', type: 6, mtu: 1500, speed: 100000000, mac: mac([0xb8, 0x27, 0xeb]) },
      ],
      hostResources: false,
    };
  }
  // A Linux (or BSD) server running net-snmp with the distribution's stock snmpd.conf.
  return {
    descr: `Linux ${facts.shortHostname} ${facts.kernelRelease} ${facts.kernelVersion} ${facts.machine}`,
    objectId: '1.3.6.1.4.1.8072.3.2.10',
    contact: 'Me <me@example.org>',
    location: 'Sitting on the Dock of the Bay',
    services: 72,
    ifaces: [
      { descr: 'lo', type: 24, mtu: 65536, speed: 10000000, mac: Buffer.alloc(0) },
      { descr: 'eth0', type: 6, mtu: 1500, speed: 1000000000, mac: mac([0x00, 0x50, 0x56]) },
    ],
    hostResources: true,
  };
}

function ipBytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  return parts.length === 4 && parts.every((n) => n >= 0 && n <= 255) ? Buffer.from(parts) : Buffer.from([0, 0, 0, 0]);
}

function buildMib(decky: DeckyInfo, seed: Seeded, config: Readonly<Record<string, string>>): { mib: MibEntry[]; uptimeCs: () => number; bootedAt: number } {
  const persona = personaFacts(decky.persona);
  const facts = systemFacts(decky, persona, seed);
  // The agent started a little after the machine booted (same boot time the other services report).
  const bootedAt = persona.bootTime + seed.int(20_000, 90_000);
  const uptimeCs = (): number => Math.floor((Date.now() - bootedAt) / 10) % 2 ** 32;
  const str = (s: string) => () => octetString(s);
  const int = (n: number) => () => integer(n);
  const mib: MibEntry[] = [
    { oid: '1.3.6.1.2.1.1.1.0', value: str(config.sys_descr || facts.descr) },
    { oid: '1.3.6.1.2.1.1.2.0', value: () => oid(facts.objectId) },
    { oid: '1.3.6.1.2.1.1.3.0', value: () => unsigned(TIMETICKS, uptimeCs()) },
    { oid: '1.3.6.1.2.1.1.4.0', value: str(config.sys_contact === 'auto' ? facts.contact : config.sys_contact!) },
    { oid: '1.3.6.1.2.1.1.5.0', value: str(decky.persona.hostname) },
    { oid: '1.3.6.1.2.1.1.6.0', value: str(config.sys_location === 'auto' ? facts.location : config.sys_location!) },
    { oid: '1.3.6.1.2.1.1.7.0', value: int(facts.services) },
    { oid: '1.3.6.1.2.1.2.1.0', value: int(facts.ifaces.length) },
  ];
  const rates = facts.ifaces.map(() => seed.int(2_000, 400_000));
  const octets = (i: number, factor: number) => () => unsigned(COUNTER32, Math.floor(((Date.now() - bootedAt) / 1000) * rates[i]! * factor) % 2 ** 32);
  facts.ifaces.forEach((f, i) => {
    const idx = i + 1;
    const col = (c: number, value: () => Buffer): void => void mib.push({ oid: `1.3.6.1.2.1.2.2.1.${c}.${idx}`, value });
    col(1, int(idx));
    col(2, str(f.descr));
    col(3, int(f.type));
    col(4, int(f.mtu));
    col(5, () => unsigned(GAUGE32, Math.min(f.speed, 2 ** 32 - 1)));
    col(6, () => octetString(f.mac));
    col(7, int(1));
    col(8, int(1));
    col(10, octets(i, 1));
    col(16, octets(i, f.type === 24 ? 1 : 0.37));
  });
  // ipAddrTable: loopback plus the decky's own address on the last interface.
  const addrs: [string, number, string][] = facts.ifaces.length > 1 ? [['127.0.0.1', 1, '255.0.0.0']] : [];
  addrs.push([decky.ip, facts.ifaces.length, '255.255.255.0']);
  for (const [addr, ifIndex, mask] of addrs) {
    mib.push({ oid: `1.3.6.1.2.1.4.20.1.1.${addr}`, value: () => tlv(IP_ADDRESS, ipBytes(addr)) });
    mib.push({ oid: `1.3.6.1.2.1.4.20.1.2.${addr}`, value: int(ifIndex) });
    mib.push({ oid: `1.3.6.1.2.1.4.20.1.3.${addr}`, value: () => tlv(IP_ADDRESS, ipBytes(mask)) });
  }
  if (facts.hostResources) {
    const procs = seed.int(90, 260);
    const users = seed.int(0, 2);
    mib.push(
      { oid: '1.3.6.1.2.1.25.1.1.0', value: () => unsigned(TIMETICKS, uptimeCs()) },
      { oid: '1.3.6.1.2.1.25.1.5.0', value: () => unsigned(GAUGE32, users) },
      { oid: '1.3.6.1.2.1.25.1.6.0', value: () => unsigned(GAUGE32, procs + (Math.floor(Date.now() / 7000) % 9)) },
      { oid: '1.3.6.1.2.1.25.2.2.0', value: int(seed.pick([4030564, 8152988, 16363412, 32768000])) },
    );
  }
  mib.sort((a, b) => compareOid(a.oid, b.oid));
  return { mib, uptimeCs, bootedAt };
}

interface VarBind {
  oid: string;
  value: Buffer;
  /** The value TLV as received (for SET logging). */
  raw: { tag: number; value: Buffer };
}

interface Pdu {
  type: number;
  requestId: number;
  errorStatus: number;
  errorIndex: number;
  varbinds: VarBind[];
}

function parsePdu(tag: number, body: Buffer): Pdu {
  const r = new BerReader(body);
  const requestId = r.integer();
  const errorStatus = r.integer();
  const errorIndex = r.integer();
  const list = r.sequence();
  const varbinds: VarBind[] = [];
  while (list.hasMore()) {
    if (varbinds.length >= MAX_VARBINDS) throw new BerError('too many variable bindings');
    const vb = list.sequence();
    const name = vb.oid();
    const v = vb.next();
    varbinds.push({ oid: name, value: Buffer.alloc(0), raw: { tag: v.tag, value: v.value } });
  }
  return { type: tag, requestId, errorStatus, errorIndex, varbinds };
}

function encodePdu(type: number, requestId: number, errorStatus: number, errorIndex: number, varbinds: Buffer[]): Buffer {
  return tlv(type, integer(requestId), integer(errorStatus), integer(errorIndex), sequence(...varbinds));
}

const varbind = (name: string, value: Buffer): Buffer => sequence(oid(name), value);

/** A SET value as text for the event. */
function renderValue(tag: number, value: Buffer): string {
  try {
    switch (tag) {
      case T_INTEGER:
        return String(decodeSignedNumber(value));
      case T_OCTET_STRING:
        return textPreview(value, 128);
      case T_OID:
        return decodeOid(value);
      case IP_ADDRESS:
        return [...value].join('.');
      case COUNTER32:
      case GAUGE32:
      case TIMETICKS:
      case COUNTER64:
        return decodeUnsigned(value).toString();
      default:
        return `0x${hexPreview(value, 32)}`;
    }
  } catch {
    return `0x${hexPreview(value, 32)}`;
  }
}

const service: DecoyService = {
  name: 'snmp',
  summary: 'SNMP agent (community strings)',
  listens: [{ port: 161, transport: 'udp' }],
  personaKeys: {
    community: { summary: 'communities answered, comma separated (others are ignored, like a real agent)', default: 'public' },
    sys_descr: { summary: 'sysDescr (empty: derived from the persona)', default: '' },
    sys_contact: { summary: 'sysContact (auto: the distribution default)', default: 'auto' },
    sys_location: { summary: 'sysLocation (auto: the distribution default)', default: 'auto' },
  },
  create(ctx) {
    const seed = new Seeded(ctx.decky.name, 'snmp');
    const { mib, bootedAt } = buildMib(ctx.decky, new Seeded(ctx.decky.name, 'snmp-mib'), ctx.config);
    const communities = new Set(ctx.config.community!.split(',').map((c) => c.trim()).filter(Boolean));
    // net-snmp style engine id: enterprise 8072, format 0x80 (random), 8 random octets + boot time.
    const engineId = Buffer.concat([Buffer.from([0x80, 0x00, 0x1f, 0x88, 0x80]), seed.bytes(8), Buffer.from([0, 0, 0, 0])]);
    engineId.writeUInt32BE(Math.floor(bootedAt / 1000) >>> 0, 13);
    const engineBoots = seed.int(3, 40);
    let unknownEngineIds = seed.int(0, 20);
    let unknownUserNames = seed.int(0, 10);

    const indexOf = (name: string): number => {
      let lo = 0;
      let hi = mib.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareOid(mib[mid]!.oid, name) < 0) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const exact = (name: string): MibEntry | undefined => {
      const e = mib[indexOf(name)];
      return e && e.oid === name ? e : undefined;
    };
    const next = (name: string): MibEntry | undefined => {
      let i = indexOf(name);
      if (mib[i]?.oid === name) i++;
      return mib[i];
    };

    const respond = (version: number, community: Buffer, pdu: Pdu): Buffer | undefined => {
      const wrap = (body: Buffer): Buffer => sequence(integer(version), octetString(community), body);
      const v1 = version === 0;
      const err = (status: number, index: number): Buffer =>
        wrap(encodePdu(PDU_RESPONSE, pdu.requestId, status, index, pdu.varbinds.map((vb) => varbind(vb.oid, tlv(vb.raw.tag, vb.raw.value)))));
      let binds: Buffer[] = [];
      switch (pdu.type) {
        case PDU_GET:
          for (let i = 0; i < pdu.varbinds.length; i++) {
            const name = pdu.varbinds[i]!.oid;
            const e = exact(name);
            if (e) binds.push(varbind(name, e.value()));
            else if (v1) return err(ERR_NO_SUCH_NAME, i + 1);
            else {
              const parent = name.slice(0, name.lastIndexOf('.'));
              const known = mib.some((m) => m.oid.slice(0, m.oid.lastIndexOf('.')) === parent);
              binds.push(varbind(name, nullValue(known ? NO_SUCH_INSTANCE : NO_SUCH_OBJECT)));
            }
          }
          break;
        case PDU_GETNEXT:
          for (let i = 0; i < pdu.varbinds.length; i++) {
            const name = pdu.varbinds[i]!.oid;
            const e = next(name);
            if (e) binds.push(varbind(e.oid, e.value()));
            else if (v1) return err(ERR_NO_SUCH_NAME, i + 1);
            else binds.push(varbind(name, nullValue(END_OF_MIB_VIEW)));
          }
          break;
        case PDU_GETBULK: {
          if (v1) return undefined;
          const nonRepeaters = Math.max(0, Math.min(pdu.errorStatus, pdu.varbinds.length));
          const maxRep = Math.max(0, Math.min(pdu.errorIndex, 50));
          let size = 0;
          const add = (b: Buffer): boolean => {
            if (size + b.length > REPLY_BUDGET - 60) return false;
            binds.push(b);
            size += b.length;
            return true;
          };
          for (let i = 0; i < nonRepeaters; i++) {
            const name = pdu.varbinds[i]!.oid;
            const e = next(name);
            if (!add(e ? varbind(e.oid, e.value()) : varbind(name, nullValue(END_OF_MIB_VIEW)))) break;
          }
          const cursors = pdu.varbinds.slice(nonRepeaters).map((vb) => vb.oid);
          outer: for (let r = 0; r < maxRep && cursors.length > 0; r++) {
            let allEnd = true;
            for (let c = 0; c < cursors.length; c++) {
              const e = next(cursors[c]!);
              if (e) {
                allEnd = false;
                cursors[c] = e.oid;
                if (!add(varbind(e.oid, e.value()))) break outer;
              } else if (!add(varbind(cursors[c]!, nullValue(END_OF_MIB_VIEW)))) break outer;
            }
            if (allEnd) break;
          }
          break;
        }
        case PDU_SET:
          // The community is read-only: v1 says noSuchName, v2c noAccess (what net-snmp answers).
          return err(v1 ? ERR_NO_SUCH_NAME : ERR_NO_ACCESS, 1);
        default:
          return undefined;
      }
      const out = wrap(encodePdu(PDU_RESPONSE, pdu.requestId, 0, 0, binds));
      if (out.length > REPLY_BUDGET) return wrap(encodePdu(PDU_RESPONSE, pdu.requestId, ERR_TOO_BIG, 0, []));
      return out;
    };

    const handleV3 = (msg: Buffer, top: BerReader, peer: Peer, reply: (b: Buffer) => void): void => {
      const header = top.sequence();
      const msgId = header.integer();
      header.integer(); // msgMaxSize
      const flags = header.octetString()[0] ?? 0;
      const model = header.integer();
      const secParams = top.octetString();
      const usm = new BerReader(readTlv(secParams).value);
      const theirEngine = usm.octetString();
      usm.integer(); // boots
      usm.integer(); // time
      const user = usm.octetString();
      const authParams = usm.octetString();
      let requestId = 0;
      let pduName = 'encrypted';
      if ((flags & 0x02) === 0 && top.hasMore()) {
        const scoped = top.sequence();
        scoped.octetString();
        scoped.octetString();
        const p = scoped.next();
        pduName = PDU_NAMES[p.tag] ?? `0x${p.tag.toString(16)}`;
        requestId = new BerReader(p.value).integer();
      }
      const level = flags & 0x02 ? 'authPriv' : flags & 0x01 ? 'authNoPriv' : 'noAuthNoPriv';
      const discovery = theirEngine.length === 0;
      const fields = {
        version: '3',
        pdu: pduName,
        username: clip(user.toString('utf8')),
        security_level: level,
        security_model: model,
        engine_id: theirEngine.toString('hex') || undefined,
        discovery,
      };
      if (discovery) {
        ctx.record('request', peer, fields);
      } else {
        // With authentication, the HMAC over the whole message (auth field zeroed) can be cracked offline.
        let secret: string | undefined;
        if (flags & 0x01 && authParams.length === 12 && msg.length <= 1500) {
          const at = msg.indexOf(authParams);
          if (at >= 0) {
            const zeroed = Buffer.from(msg);
            zeroed.fill(0, at, at + authParams.length);
            secret = `$SNMPv3$0$0$${zeroed.toString('hex')}$${theirEngine.toString('hex')}$${authParams.toString('hex')}`;
          }
        }
        ctx.record('auth_attempt', peer, { ...fields, auth_method: 'usm', success: false, secret_kind: secret ? 'snmpv3_hmac' : undefined }, secret ? { secret } : undefined);
      }
      if ((flags & 0x04) === 0) return; // not reportable: a real agent stays silent
      const counterOid = discovery ? USM_UNKNOWN_ENGINE : USM_UNKNOWN_USER;
      const count = discovery ? ++unknownEngineIds : ++unknownUserNames;
      const engineTime = Math.floor((Date.now() - bootedAt) / 1000) % 2 ** 31;
      const usmOut = sequence(octetString(engineId), integer(engineBoots), integer(engineTime), octetString(discovery ? Buffer.alloc(0) : user), octetString(Buffer.alloc(0)), octetString(Buffer.alloc(0)));
      const report = encodePdu(PDU_REPORT, requestId, 0, 0, [varbind(counterOid, unsigned(COUNTER32, count))]);
      reply(
        sequence(
          integer(3),
          sequence(integer(msgId), integer(65507), octetString(Buffer.from([0])), integer(3)),
          octetString(usmOut),
          sequence(octetString(engineId), octetString(Buffer.alloc(0)), report),
        ),
      );
    };

    return {
      onDatagram(msg, peer, reply) {
        let version = -1;
        try {
          const outer = readTlv(msg);
          if (outer.tag !== 0x30) throw new BerError('not a sequence');
          const top = new BerReader(outer.value);
          version = top.integer();
          if (version === 3) {
            handleV3(msg, top, peer, reply);
            return;
          }
          if (version !== 0 && version !== 1) throw new BerError(`unsupported version ${version}`);
          const community = top.octetString();
          const p = top.next();
          if (p.cls !== CONTEXT || !p.constructed) throw new BerError('no PDU');
          const name = PDU_NAMES[p.tag] ?? `0x${p.tag.toString(16)}`;
          const versionText = version === 0 ? '1' : '2c';
          if (p.tag === PDU_TRAP || p.tag === PDU_TRAP2 || p.tag === PDU_RESPONSE || p.tag === PDU_REPORT || p.tag === PDU_INFORM) {
            ctx.record('payload', peer, { reason: 'unexpected_pdu', version: versionText, pdu: name, data_hex: hexPreview(msg) }, { secret: community });
            return;
          }
          const pdu = parsePdu(p.tag, p.value);
          const ok = communities.has(community.toString('latin1'));
          const fields: Record<string, string | number | boolean> = {
            version: versionText,
            pdu: name,
            oids: clip(pdu.varbinds.slice(0, 16).map((v) => v.oid).join(','), 1024),
            count: pdu.varbinds.length,
            community_ok: ok,
            secret_kind: 'snmp_community',
          };
          if (p.tag === PDU_GETBULK) {
            fields.non_repeaters = pdu.errorStatus;
            fields.max_repetitions = pdu.errorIndex;
          }
          if (p.tag === PDU_SET) fields.values = clip(pdu.varbinds.slice(0, 8).map((v) => `${v.oid}=${renderValue(v.raw.tag, v.raw.value)}`).join(' '), 1024);
          if (!ok) {
            // A wrong community is a failed login; real agents do not answer it.
            ctx.record('auth_attempt', peer, { ...fields, auth_method: 'community', success: false }, { secret: community });
            return;
          }
          ctx.record('request', peer, fields, { secret: community });
          const out = respond(version, community, pdu);
          if (out) reply(out);
        } catch (err) {
          if (!(err instanceof BerError || err instanceof RangeError)) throw err;
          ctx.record('payload', peer, { reason: 'malformed', version: version >= 0 ? version : undefined, error: clip(err.message, 128), data_hex: hexPreview(msg) });
        }
      },
    };
  },
};

export default service;
