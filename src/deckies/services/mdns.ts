// mDNS responder decoy (RFC 6762/6763, UDP 5353): answers for `<host>.local` and its reverse name,
// and, like Avahi or Bonjour, advertises a few DNS-SD services that suit the persona (a Linux
// workstation's _workstation._tcp and _ssh._tcp, a printer's IPP, a NAS's SMB); Windows answers its
// name but advertises nothing. Names it does not own get no answer. Queries from a port other than
// 5353 get RFC 6762 §6.7 legacy-unicast replies (id and question echoed, TTL at most 10 s).
// Every query is recorded.
import { isIPv4 } from 'node:net';
import {
  DnsFormatError,
  QR,
  AA,
  TYPES,
  canonicalName,
  className,
  decodeMessage,
  encodeMessage,
  encodeName,
  opcodeOf,
  rdataA,
  rdataSrv,
  rdataTxt,
  typeName,
  type ResourceRecord,
} from '../proto/dns-message.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import { personaFacts } from '../personas/facts.ts';
import type { DecoyService } from '../service.ts';

const CACHE_FLUSH = 0x8000;
const HOST_TTL = 120;
const SERVICE_TTL = 4500;
const MDNS_PORT = 5353;

interface Advertised {
  type: string;
  instance: string;
  port: number;
  txt: string[];
}

const service: DecoyService = {
  name: 'mdns',
  summary: 'mDNS responder',
  listens: [{ port: 5353, transport: 'udp' }],
  personaKeys: {
    services: { summary: 'DNS-SD service types advertised, comma separated (auto: per persona; none)', default: 'auto' },
  },
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const seed = new Seeded(ctx.decky.name, 'mdns');
    const short = facts.shortHostname;
    const hostName = `${short}.local`;
    const ip = ctx.decky.ip;
    const mac = [0x00, 0x50, 0x56, ...seed.bytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const arch = ctx.decky.persona.archetype;
    let types: string[];
    if (ctx.config.services === 'none') types = [];
    else if (ctx.config.services && ctx.config.services !== 'auto') types = ctx.config.services.split(',').map((t) => t.trim()).filter((t) => /^_[a-z0-9-]{1,15}\._(tcp|udp)$/.test(t));
    else if (facts.windows) types = [];
    else if (arch === 'printer') types = ['_ipp._tcp', '_printer._tcp', '_http._tcp'];
    else if (arch === 'file-server') types = ['_smb._tcp', '_sftp-ssh._tcp', '_workstation._tcp'];
    else if (ctx.decky.persona.osFamily === 'embedded') types = ['_http._tcp'];
    else types = ['_workstation._tcp', '_ssh._tcp'];
    const ports: Record<string, number> = { _workstation: 9, _ssh: 22, '_sftp-ssh': 22, _smb: 445, _ipp: 631, _printer: 515, _http: 80 };
    const advertised: Advertised[] = types.map((t) => {
      const kind = t.split('.')[0]!;
      const instance = kind === '_workstation' ? `${short} [${mac}]` : arch === 'printer' ? `HP LaserJet Pro M404dn (${short})` : short;
      const txt = kind === '_ipp' ? ['txtvers=1', 'qtotal=1', 'rp=ipp/print', 'ty=HP LaserJet Pro M404dn', 'pdl=application/pdf,image/urf'] : [''];
      return { type: `${t}.local`, instance: `${instance}.${t}.local`, port: ports[kind] ?? 80, txt };
    });
    const reverseName = isIPv4(ip) ? `${ip.split('.').reverse().join('.')}.in-addr.arpa` : undefined;

    const answersFor = (qname: string, qtype: number): ResourceRecord[] => {
      const name = canonicalName(qname);
      const any = qtype === TYPES.ANY;
      const out: ResourceRecord[] = [];
      const add = (type: number, ttl: number, data: Buffer, unique = true): void => {
        if (any || qtype === type) out.push({ name: qname, type, class: 1 | (unique ? CACHE_FLUSH : 0), ttl, data });
      };
      if (name === hostName.toLowerCase()) {
        if (isIPv4(ip)) add(TYPES.A!, HOST_TTL, rdataA(ip));
      } else if (reverseName && name === reverseName) {
        add(TYPES.PTR!, HOST_TTL, encodeName(hostName));
      } else if (name === '_services._dns-sd._udp.local') {
        for (const a of advertised) add(TYPES.PTR!, SERVICE_TTL, encodeName(a.type), false);
      } else {
        for (const a of advertised) {
          if (name === a.type.toLowerCase()) add(TYPES.PTR!, SERVICE_TTL, encodeName(a.instance), false);
          else if (name === a.instance.toLowerCase()) {
            add(TYPES.SRV!, HOST_TTL, rdataSrv(0, 0, a.port, hostName));
            add(TYPES.TXT!, SERVICE_TTL, rdataTxt(a.txt));
          }
        }
      }
      return out;
    };

    return {
      onDatagram(msg, peer, reply) {
        let q;
        try {
          q = decodeMessage(msg);
        } catch (err) {
          if (!(err instanceof DnsFormatError)) throw err;
          ctx.record('payload', peer, { reason: 'malformed', error: clip(err.message, 128), data_hex: hexPreview(msg) });
          return;
        }
        if (q.flags & QR || opcodeOf(q.flags) !== 0) return; // announcements and responses from others
        const legacy = peer.srcPort !== MDNS_PORT;
        const answers: ResourceRecord[] = [];
        for (const question of q.questions.slice(0, 16)) {
          const found = answersFor(question.name, question.type);
          ctx.record('query', peer, {
            qname: clip(question.name || '.', 255),
            qtype: typeName(question.type),
            qclass: className(question.class),
            unicast_response: question.unicastResponse || legacy,
            answered: found.length > 0,
          });
          for (const a of found) if (!answers.some((x) => x.name === a.name && x.type === a.type && x.data.equals(a.data))) answers.push(a);
        }
        if (answers.length === 0) return;
        if (legacy) {
          // Legacy unicast: echo id and questions, no cache-flush bit, TTL at most 10 s.
          const plain = answers.map((a) => ({ ...a, class: a.class & 0x7fff, ttl: Math.min(a.ttl, 10) }));
          reply(encodeMessage({ id: q.id, flags: QR | AA, questions: q.questions.slice(0, 16), answers: plain, authorities: [], additionals: [] }));
          return;
        }
        reply(encodeMessage({ id: 0, flags: QR | AA, questions: [], answers, authorities: [], additionals: [] }));
      },
    };
  },
};

export default service;
