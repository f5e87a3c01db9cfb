// SIP registrar/PBX decoy (UDP and TCP 5060), answering like Asterisk's chan_pjsip: OPTIONS gets
// 200 OK with the PBX's capabilities, REGISTER/INVITE/SUBSCRIBE/MESSAGE without credentials get a
// 401 digest challenge for any user (no user enumeration), and a request with credentials is recorded
// (user, realm, and the response as a hashcat 11400 line) and refused with 403. Every request is
// recorded with method, URI, From, To, Call-ID and User-Agent. Messages are bounded (head 8 KiB,
// body 16 KiB) and only parsed, never routed: the decoy places no call and contacts no one.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ByteQueue } from '../proto/byte-queue.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import type { DecoyService, Peer, Session } from '../service.ts';

const MAX_HEAD = 8192;
const MAX_BODY = 16384;
const CHALLENGED = new Set(['REGISTER', 'INVITE', 'SUBSCRIBE', 'NOTIFY', 'MESSAGE', 'PUBLISH', 'INFO', 'REFER', 'UPDATE', 'PRACK']);
const ALLOW = 'OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, INFO, MESSAGE, REFER';
const COMPACT: Record<string, string> = { i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type', f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via' };

interface SipRequest {
  method: string;
  uri: string;
  /** Headers in order, names lower-cased (compact forms expanded), values trimmed. */
  headers: [string, string][];
  body: Buffer;
}

class SipParseError extends Error {}

/** Parses one request from a head (without the blank line) and a body. */
function parseRequest(head: string, body: Buffer): SipRequest {
  const lines = head.split(/\r?\n/);
  const start = lines.shift() ?? '';
  const m = /^([A-Za-z]{1,32}) (\S{1,1024}) SIP\/2\.0$/.exec(start);
  if (!m) throw new SipParseError(/^SIP\/2\.0 \d{3}/.test(start) ? 'response' : 'bad request line');
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && headers.length > 0) {
      headers[headers.length - 1]![1] += ' ' + line.trim(); // folded continuation
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const raw = line.slice(0, i).trim().toLowerCase();
    headers.push([COMPACT[raw] ?? raw, line.slice(i + 1).trim()]);
    if (headers.length > 100) throw new SipParseError('too many headers');
  }
  return { method: m[1]!.toUpperCase(), uri: m[2]!, headers, body };
}

const header = (r: SipRequest, name: string): string | undefined => r.headers.find(([n]) => n === name)?.[1];

/** `name="quoted", name=token` parameters of a Digest credential (bounded). */
export function parseDigest(value: string): Record<string, string> | undefined {
  const m = /^Digest\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  const re = /([A-Za-z-]{1,32})\s*=\s*(?:"((?:[^"\\]|\\.){0,512})"|([^\s,"]{0,512}))\s*(?:,|$)/g;
  let p: RegExpExecArray | null;
  let n = 0;
  while ((p = re.exec(m[1]!)) && n++ < 16) out[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return out;
}

/** The user part of a From/To header's URI (sip:user@host). */
function uriUser(value: string | undefined): string | undefined {
  const m = value && /sips?:([^@;>\s]{1,128})@/i.exec(value);
  return m ? decodeURIComponent(m[1]!.replace(/%(?![0-9a-f]{2})/gi, '%25')) : undefined;
}

/** Digest `uri` split the way hashcat 11400 rebuilds it: prefix ":" resource [":" suffix]. */
function splitUri(uri: string): [string, string, string] {
  const colon = uri.indexOf(':');
  if (colon < 0) return ['', uri, ''];
  const prefix = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  const last = rest.lastIndexOf(':');
  return last < 0 ? [prefix, rest, ''] : [prefix, rest.slice(0, last), rest.slice(last + 1)];
}

const service: DecoyService = {
  name: 'sip',
  summary: 'SIP registrar',
  listens: [
    { port: 5060, transport: 'udp' },
    { port: 5060, transport: 'tcp' },
  ],
  personaKeys: {
    server: { summary: 'Server / User-Agent header of replies', default: 'Asterisk PBX 18.20.2' },
    realm: { summary: 'digest realm of the challenge', default: 'asterisk' },
  },
  create(ctx) {
    const serverHeader = ctx.config.server!;
    const realm = ctx.config.realm!;
    const tagOf = (r: SipRequest): string => createHash('md5').update(`${ctx.decky.name}|${header(r, 'call-id') ?? ''}`).digest('hex').slice(0, 10);

    const respond = (r: SipRequest, peer: Peer, code: number, reason: string, extra: string[] = []): Buffer => {
      const lines = [`SIP/2.0 ${code} ${reason}`];
      let first = true;
      for (const [name, value] of r.headers) {
        if (name !== 'via') continue;
        let v = value;
        if (first) {
          // The top Via learns where the request really came from (RFC 3261 §18.2.1, RFC 3581).
          if (/;rport(?=;|$)/i.test(v)) v = v.replace(/;rport(?=;|$)/i, `;rport=${peer.srcPort}`);
          if (!/;received=/i.test(v)) v += `;received=${peer.srcIp}`;
          first = false;
        }
        lines.push(`Via: ${v}`);
      }
      const to = header(r, 'to') ?? '';
      lines.push(`Call-ID: ${header(r, 'call-id') ?? ''}`);
      lines.push(`From: ${header(r, 'from') ?? ''}`);
      lines.push(`To: ${code > 100 && !/;tag=/i.test(to) ? `${to};tag=${tagOf(r)}` : to}`);
      lines.push(`CSeq: ${header(r, 'cseq') ?? ''}`);
      lines.push(`Server: ${serverHeader}`, ...extra, 'Content-Length:  0', '', '');
      return Buffer.from(lines.join('\r\n'), 'utf8');
    };

    /** Handles one request; returns the reply (or nothing, for ACK and junk). */
    const handle = (r: SipRequest, peer: Peer, transport: 'udp' | 'tcp', record: (e: string, f: Record<string, string | number | boolean | undefined>, secret?: string) => void): Buffer | undefined => {
      const from = header(r, 'from');
      const to = header(r, 'to');
      const fields = {
        method: clip(r.method, 32),
        uri: clip(r.uri, 256),
        from: from === undefined ? undefined : clip(from, 256),
        to: to === undefined ? undefined : clip(to, 256),
        call_id: clip(header(r, 'call-id') ?? '', 128) || undefined,
        user_agent: clip(header(r, 'user-agent') ?? '', 256) || undefined,
        contact: clip(header(r, 'contact') ?? '', 256) || undefined,
        transport,
      };
      record('request', fields);
      if (!header(r, 'via')) return undefined; // nowhere to send a reply
      if (!from || !to || !header(r, 'call-id') || !header(r, 'cseq')) return respond(r, peer, 400, 'Bad Request');
      if (r.method === 'ACK') return undefined;
      if (r.method === 'OPTIONS') {
        return respond(r, peer, 200, 'OK', [`Allow: ${ALLOW}`, 'Accept: application/sdp, application/dialog-info+xml, application/simple-message-summary, application/pidf+xml, application/cpim-pidf+xml, message/sipfrag;version=2.0', 'Supported: 100rel, timer, replaces, norefersub', 'Accept-Encoding: text/plain', 'Accept-Language: en']);
      }
      if (r.method === 'BYE' || r.method === 'CANCEL') return respond(r, peer, 481, 'Call/Transaction Does Not Exist');
      if (!CHALLENGED.has(r.method)) return respond(r, peer, 501, 'Not Implemented', [`Allow: ${ALLOW}`]);
      const authValue = header(r, 'authorization') ?? header(r, 'proxy-authorization');
      const digest = authValue ? parseDigest(authValue) : undefined;
      if (!digest) {
        const nonce = `${Math.floor(Date.now() / 1000)}/${randomBytes(16).toString('hex')}`;
        const opaque = randomBytes(8).toString('hex');
        return respond(r, peer, 401, 'Unauthorized', [`WWW-Authenticate: Digest realm="${realm}",nonce="${nonce}",opaque="${opaque}",algorithm=md5,qop="auth"`]);
      }
      const user = digest.username ?? uriUser(from) ?? '';
      const [prefix, resource, suffix] = splitUri(digest.uri ?? r.uri);
      const line = ['$sip$', peer.dstIp, peer.srcIp, user, digest.realm ?? '', r.method, prefix, resource, suffix, digest.nonce ?? '', digest.cnonce ?? '', digest.nc ?? '', digest.qop ?? '', (digest.algorithm ?? 'MD5').toUpperCase(), (digest.response ?? '').toLowerCase()];
      const crackable = /^[0-9a-f]{32}$/.test(line[14]!) && line.slice(1, 14).every((f) => !f.includes('*'));
      record(
        'auth_attempt',
        {
          auth_method: 'digest',
          username: clip(user, 128),
          realm: clip(digest.realm ?? '', 128),
          method: r.method,
          uri: clip(digest.uri ?? '', 256),
          algorithm: clip(digest.algorithm ?? 'MD5', 32),
          secret_kind: crackable ? 'sip_digest_md5' : 'sip_digest_response',
          user_agent: fields.user_agent,
          success: false,
        },
        crackable ? line.join('*') : (digest.response ?? ''),
      );
      return respond(r, peer, 403, 'Forbidden');
    };

    const onDatagram = (msg: Buffer, peer: Peer, reply: (b: Buffer) => void): void => {
      if (/^[\r\n\t ]*$/.test(msg.toString('latin1'))) return; // keep-alive
      const end = msg.indexOf('\r\n\r\n');
      try {
        const headBytes = end >= 0 ? msg.subarray(0, end) : msg;
        if (headBytes.length > MAX_HEAD) throw new SipParseError('head too large');
        const r = parseRequest(headBytes.toString('utf8'), end >= 0 ? msg.subarray(end + 4) : Buffer.alloc(0));
        const out = handle(r, peer, 'udp', (e, f, secret) => ctx.record(e, peer, f, secret !== undefined ? { secret } : undefined));
        if (out) reply(out);
      } catch (err) {
        if (!(err instanceof SipParseError)) throw err;
        ctx.record('payload', peer, { reason: err.message, transport: 'udp', data_hex: hexPreview(msg) });
      }
    };

    const onConnection = (socket: Socket, session: Session): void => {
      const q = new ByteQueue(MAX_HEAD + MAX_BODY + 4);
      const drain = (): boolean => {
        for (;;) {
          // RFC 5626 CRLF keep-alive pings get a single CRLF back.
          while (q.length >= 2 && q.peek(2).toString('latin1') === '\r\n') {
            if (q.length >= 4 && q.peek(4).toString('latin1') === '\r\n\r\n') {
              q.take(4);
              socket.write('\r\n');
            } else {
              q.take(2);
            }
          }
          const end = q.indexOf('\r\n\r\n');
          if (end < 0) {
            if (q.length > MAX_HEAD) {
              session.record('payload', { reason: 'head too large', transport: 'tcp', data_hex: hexPreview(q.peek(64)) });
              socket.destroy();
              return false;
            }
            return true;
          }
          const head = q.peek(end).toString('utf8');
          const lengthHeader = /^(?:content-length|l)[ \t]*:[ \t]*(\d{1,6})[ \t]*$/im.exec(head);
          const bodyLength = lengthHeader ? Number(lengthHeader[1]) : 0;
          if (bodyLength > MAX_BODY || end > MAX_HEAD) {
            session.record('payload', { reason: 'message too large', transport: 'tcp', data_hex: hexPreview(q.peek(64)) });
            socket.destroy();
            return false;
          }
          if (q.length < end + 4 + bodyLength) return true;
          q.take(end + 4);
          const body = q.take(bodyLength);
          try {
            const r = parseRequest(head, body);
            const out = handle(r, session.peer, 'tcp', (e, f, secret) => session.record(e, f, secret !== undefined ? { secret } : undefined));
            if (out) socket.write(out);
          } catch (err) {
            if (!(err instanceof SipParseError)) throw err;
            session.record('payload', { reason: err.message, transport: 'tcp', data_hex: hexPreview(Buffer.from(head, 'utf8')) });
            socket.end();
            return false;
          }
        }
      };
      socket.on('data', (chunk: Buffer) => {
        if (!socket.destroyed && !q.feed(chunk, drain)) socket.destroy();
      });
    };

    return { onDatagram, onConnection };
  },
};

export default service;
