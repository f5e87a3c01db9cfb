// LLMNR responder decoy (RFC 4795, UDP 5355). Windows and systemd-resolved machines answer LLMNR
// queries for their own host name, so this one does too: an A record with the decky's address for
// its name, an empty answer for other types of its name, and silence for every name it does not own
// (a responder that answers everything is exactly what Responder-style poisoners look like). Every
// query that reaches the decky is recorded.
import {
  DnsFormatError,
  QR,
  TYPES,
  canonicalName,
  className,
  decodeMessage,
  encodeMessage,
  opcodeOf,
  rdataA,
  rdataAAAA,
  typeName,
  type ResourceRecord,
} from '../proto/dns-message.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import { personaFacts } from '../personas/facts.ts';
import { isIPv4 } from 'node:net';
import type { DecoyService } from '../service.ts';

const TTL = 30;

const service: DecoyService = {
  name: 'llmnr',
  summary: 'LLMNR responder',
  listens: [{ port: 5355, transport: 'udp' }],
  personaKeys: {},
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const owned = new Set([facts.shortHostname.toLowerCase(), ctx.decky.persona.hostname.toLowerCase()]);
    const ip = ctx.decky.ip;

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
        // Responses, other opcodes and anything but exactly one question are ignored (RFC 4795 §2.1.1).
        if (q.flags & QR || opcodeOf(q.flags) !== 0 || q.questions.length !== 1) {
          ctx.record('payload', peer, { reason: q.flags & QR ? 'response' : 'not_a_query', data_hex: hexPreview(msg) });
          return;
        }
        const question = q.questions[0]!;
        const name = canonicalName(question.name);
        const ours = owned.has(name) && (question.class === 1 || question.class === 255);
        ctx.record('query', peer, { qname: clip(question.name || '.', 255), qtype: typeName(question.type), qclass: className(question.class), answered: ours });
        if (!ours) return;
        const answers: ResourceRecord[] = [];
        const wantsA = question.type === TYPES.A || question.type === TYPES.ANY;
        const wantsAAAA = question.type === TYPES.AAAA || question.type === TYPES.ANY;
        if (wantsA && isIPv4(ip)) answers.push({ name: question.name, type: TYPES.A!, class: 1, ttl: TTL, data: rdataA(ip) });
        if (wantsAAAA && !isIPv4(ip)) answers.push({ name: question.name, type: TYPES.AAAA!, class: 1, ttl: TTL, data: rdataAAAA(ip) });
        // Flags: QR, the query's C bit cleared, no conflict, T bit clear (this name is unique).
        reply(encodeMessage({ id: q.id, flags: QR, questions: [question], answers, authorities: [], additionals: [] }));
      },
    };
  },
};

export default service;
