// RDP decoy (TCP 3389): the X.224 connection request is parsed (the mstshash cookie carries a user
// name, the negotiation request the protocols the client can do) and answered like the persona's
// server: Windows selects CredSSP (HYBRID / HYBRID_EX) with the flags its build sends, or refuses a
// client without NLA when NLA is required; a Linux persona answers like xrdp. After TLS (with the
// decky's certificate, JA3/JA4 recorded), CredSSP is carried through NTLM: the AUTHENTICATE becomes
// a crackable NetNTLMv2 line and the answer is STATUS_LOGON_FAILURE, which mstsc shows as "The logon
// attempt failed". Clients without NLA get as far as their MCS Connect Initial, whose client name,
// build and keyboard layout are recorded. No desktop is ever served.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BerError, BerReader, context, integer, octetString, readTlv, sequence, tlvFrameLength } from '../proto/ber.ts';
import { ByteQueue } from '../proto/byte-queue.ts';
import { ntlmTarget, windowsVersionOf } from '../proto/ntlm-target.ts';
import { buildChallenge, challengeOf, crackableHash, ntlmMessageType, parseAuthenticate, parseNegotiate, versionString } from '../proto/ntlmssp.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import { negTokenRespChallenge, unwrapSecurityToken } from '../proto/spnego.ts';
import { personaFacts } from '../personas/facts.ts';
import type { DecoyService, Session } from '../service.ts';

const PROTOCOL_RDP = 0;
const PROTOCOL_SSL = 1;
const PROTOCOL_HYBRID = 2;
const PROTOCOL_HYBRID_EX = 8;
const HYBRID_REQUIRED_BY_SERVER = 5;
const SSL_REQUIRED_BY_SERVER = 1;
const STATUS_LOGON_FAILURE = 0xc000006d;
const MAX_TPKT = 16 * 1024;

const PROTOCOL_NAMES: [number, string][] = [
  [1, 'ssl'],
  [2, 'hybrid'],
  [4, 'rdstls'],
  [8, 'hybrid_ex'],
  [16, 'rdsaad'],
];

function protocolList(mask: number): string {
  const names = PROTOCOL_NAMES.filter(([bit]) => mask & bit).map(([, n]) => n);
  return names.length ? names.join(',') : 'rdp';
}

interface ConnectionRequest {
  cookie?: string;
  routingToken?: string;
  requested?: number;
  flags?: number;
  correlationId?: string;
}

/** Parses the X.224 Connection Request TPDU carried in one TPKT. */
function parseConnectionRequest(tpkt: Buffer): ConnectionRequest {
  const li = tpkt[4]!;
  if ((tpkt[5]! & 0xf0) !== 0xe0 || li < 6 || 5 + li > tpkt.length) throw new RangeError('not an X.224 connection request');
  let rest = tpkt.subarray(11, 5 + li);
  const out: ConnectionRequest = {};
  const crlf = rest.indexOf('\r\n');
  if (rest.subarray(0, 7).toString('latin1') === 'Cookie:' && crlf >= 0) {
    const line = rest.subarray(0, crlf).toString('latin1');
    const m = /^Cookie: mstshash=(.*)$/.exec(line);
    if (m) out.cookie = m[1];
    else out.routingToken = line.slice(8);
    rest = rest.subarray(crlf + 2);
  }
  if (rest.length >= 8 && rest[0] === 0x01) {
    out.flags = rest[1]!;
    out.requested = rest.readUInt32LE(4);
    rest = rest.subarray(8);
    if (rest.length >= 36 && rest[0] === 0x06) out.correlationId = rest.subarray(4, 20).toString('hex');
  }
  return out;
}

/** Client core data (TS_UD_CS_CORE) found in an MCS Connect Initial. */
function clientCoreData(data: Buffer): { name: string; build: number; keyboard: number; width: number; height: number } | undefined {
  for (let i = data.indexOf(Buffer.from([0x01, 0xc0])); i >= 0 && i + 76 <= data.length; i = data.indexOf(Buffer.from([0x01, 0xc0]), i + 1)) {
    const len = data.readUInt16LE(i + 2);
    const version = data.readUInt32LE(i + 4);
    if (len < 72 || (version >>> 16) !== 0x0008) continue;
    const name = data.subarray(i + 24, i + 56).toString('utf16le').replace(/\0.*$/s, '');
    return { name, build: data.readUInt32LE(i + 20), keyboard: data.readUInt32LE(i + 16), width: data.readUInt16LE(i + 8), height: data.readUInt16LE(i + 10) };
  }
  return undefined;
}

const service: DecoyService = {
  name: 'rdp',
  summary: 'RDP negotiation (user name where sent)',
  listens: [{ port: 3389, transport: 'tcp' }],
  personaKeys: {
    nla: { summary: 'require Network Level Authentication (auto: yes on Windows personas)', default: 'auto', choices: ['auto', 'true', 'false'] },
    domain: { summary: 'AD domain named in the NTLM challenge (auto: as smb and ldap)', default: 'auto' },
  },
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const windows = facts.windows !== undefined;
    const nla = ctx.config.nla === 'true' || (ctx.config.nla === 'auto' && windows);
    const build = windowsVersionOf(ctx.decky.persona).build;
    const negFlags = !windows ? 0x00 : build >= 10240 ? 0x1f : build >= 9200 ? 0x0f : 0x01;
    const srcRef = windows ? 0x1234 : 0x0000;
    const target = ntlmTarget(ctx.decky.persona, ctx.config.domain);
    let tlsHelpers: Promise<typeof import('../tls-server.ts')> | undefined;
    let secureContext: (() => Promise<import('node:tls').SecureContext>) | undefined;

    function connectionConfirm(negType: number | undefined, flags: number, value: number): Buffer {
      const neg = negType === undefined ? Buffer.alloc(0) : Buffer.alloc(8);
      if (negType !== undefined) {
        neg[0] = negType;
        neg[1] = flags;
        neg.writeUInt16LE(8, 2);
        neg.writeUInt32LE(value, 4);
      }
      const x224 = Buffer.from([6 + neg.length, 0xd0, 0, 0, srcRef >> 8, srcRef & 0xff, 0]);
      const head = Buffer.from([3, 0, 0, 0]);
      head.writeUInt16BE(4 + x224.length + neg.length, 2);
      return Buffer.concat([head, x224, neg]);
    }

    /** After TLS: CredSSP (NLA) or the MCS Connect Initial of a client without NLA. */
    function afterTls(io: Duplex, session: Session, protocol: number): void {
      const q = new ByteQueue(MAX_TPKT + 16);
      let challenge: Buffer | undefined;
      let framing: 'raw' | 'spnego' = 'raw';
      let version = 6;
      let done = false;
      const finish = (): void => {
        done = true;
        io.end();
      };

      const onTsRequest = (frame: Buffer): void => {
        const outer = readTlv(frame);
        if (outer.tag !== 0x30) throw new BerError('TSRequest is not a sequence');
        const r = new BerReader(outer.value);
        let token: Buffer | undefined;
        let hasPubKeyAuth = false;
        while (r.hasMore()) {
          const el = r.next();
          if (el.tag === 0xa0) version = Math.min(new BerReader(el.value).integer(), 6);
          else if (el.tag === 0xa1) {
            const first = new BerReader(el.value).sequence().sequence();
            token = new BerReader(first.next().value).octetString();
          } else if (el.tag === 0xa3) hasPubKeyAuth = true;
        }
        if (!token) throw new BerError('TSRequest without a negotiation token');
        const unwrapped = unwrapSecurityToken(token);
        const ntlm = unwrapped.ntlm;
        const type = ntlm ? ntlmMessageType(ntlm) : 0;
        const tsRequest = (...parts: Buffer[]): Buffer => sequence(context(0, integer(Math.max(2, version))), ...parts);
        if (type === 1) {
          const negotiate = parseNegotiate(ntlm!);
          const msg = buildChallenge(negotiate, target);
          challenge = challengeOf(msg);
          framing = unwrapped.framing;
          session.record('auth_attempt', { auth_method: 'ntlm', stage: 'negotiate', via: 'credssp', client_os: versionString(negotiate.version), success: false });
          const out = framing === 'spnego' ? negTokenRespChallenge(msg) : msg;
          io.write(tsRequest(context(1, sequence(sequence(context(0, octetString(out)))))));
          return;
        }
        if (type === 3 && challenge) {
          const auth = parseAuthenticate(ntlm!);
          const hash = crackableHash(auth, challenge);
          session.record(
            'auth_attempt',
            {
              auth_method: auth.kind === 'anonymous' ? 'anonymous' : 'ntlm',
              via: 'credssp',
              username: clip(auth.user),
              domain: clip(auth.domain),
              workstation: clip(auth.workstation),
              principal: auth.domain ? clip(`${auth.domain}\\${auth.user}`) : clip(auth.user),
              client_os: versionString(auth.version),
              pub_key_auth: hasPubKeyAuth,
              secret_kind: auth.kind === 'v2' ? 'ntlmssp_v2' : auth.kind === 'v1' ? 'ntlmssp_v1' : undefined,
              success: false,
            },
            hash ? { secret: hash } : undefined,
          );
          // CredSSP v3+ reports the failure as an NTSTATUS before closing.
          io.write(tsRequest(context(4, integer(STATUS_LOGON_FAILURE | 0))));
          finish();
          return;
        }
        throw new BerError('unexpected CredSSP token');
      };

      const onMcs = (tpkt: Buffer): void => {
        const info = clientCoreData(tpkt);
        session.record('client_info', info ? { client_name: clip(info.name, 32), client_build: info.build, keyboard_layout: `0x${info.keyboard.toString(16).padStart(8, '0')}`, desktop: `${info.width}x${info.height}` } : { reason: 'no_client_core_data', data_hex: hexPreview(tpkt) });
        finish();
      };

      const drain = (): boolean => {
        while (!done && q.length > 0) {
          if (protocol === PROTOCOL_HYBRID || protocol === PROTOCOL_HYBRID_EX) {
            const need = tlvFrameLength(q.peek(16));
            if (need < 0 || need > MAX_TPKT) throw new BerError('bad CredSSP framing');
            if (need === 0 || q.length < need) return true;
            onTsRequest(q.take(need));
          } else {
            if (q.length < 4) return true;
            const head = q.peek(4);
            const len = head.readUInt16BE(2);
            if (head[0] !== 3 || len < 7) throw new RangeError('not a TPKT');
            if (q.length < len) return true;
            onMcs(q.take(len));
          }
        }
        return !done;
      };

      io.on('data', (chunk: Buffer) => {
        if (done) return;
        try {
          if (!q.feed(chunk, drain)) throw new RangeError('message too large');
        } catch (err) {
          session.record('payload', { reason: 'protocol_error', stage: 'after_tls', error: clip((err as Error).message, 128), data_hex: hexPreview(q.peek(64)) });
          done = true;
          io.destroy();
        }
      });
      io.on('error', () => io.destroy());
    }

    function upgrade(socket: Socket, session: Session, protocol: number, leftover: Buffer): void {
      if (leftover.length > 0) socket.unshift(leftover);
      tlsHelpers ??= import('../tls-server.ts');
      tlsHelpers
        .then(async (tls) => {
          secureContext ??= tls.secureContextProvider(ctx);
          const secure = await tls.acceptTls(socket, { session, context: secureContext, via: 'implicit', log: ctx.log });
          if (secure) afterTls(secure, session, protocol);
        })
        .catch((err: unknown) => {
          ctx.log.warn('rdp: TLS upgrade failed', { err });
          socket.destroy();
        });
    }

    function handle(socket: Socket, session: Session): void {
      const q = new ByteQueue(MAX_TPKT + 4);
      let state: 'request' | 'mcs' | 'done' = 'request';

      const drain = (): boolean => {
        while (state !== 'done' && q.length >= 4) {
          const head = q.peek(4);
          const len = head.readUInt16BE(2);
          if (head[0] !== 3 || head[1] !== 0 || len < 7 || len > MAX_TPKT) {
            session.record('payload', { reason: 'not_tpkt', stage: state, data_hex: hexPreview(q.peek(64)) });
            state = 'done';
            socket.destroy();
            return false;
          }
          if (q.length < len) return true;
          const tpkt = q.take(len);
          if (state === 'mcs') {
            const info = clientCoreData(tpkt);
            session.record('client_info', info ? { client_name: clip(info.name, 32), client_build: info.build, keyboard_layout: `0x${info.keyboard.toString(16).padStart(8, '0')}`, desktop: `${info.width}x${info.height}`, security: 'rdp' } : { reason: 'no_client_core_data', data_hex: hexPreview(tpkt) });
            state = 'done';
            socket.end();
            return false;
          }
          let req: ConnectionRequest;
          try {
            req = parseConnectionRequest(tpkt);
          } catch (err) {
            session.record('payload', { reason: 'bad_connection_request', error: (err as Error).message, data_hex: hexPreview(tpkt) });
            state = 'done';
            socket.destroy();
            return false;
          }
          const requested = req.requested ?? 0;
          let selected: number | undefined;
          let failure: number | undefined;
          if (windows && requested & PROTOCOL_HYBRID_EX) selected = PROTOCOL_HYBRID_EX;
          else if (windows && requested & PROTOCOL_HYBRID) selected = PROTOCOL_HYBRID;
          else if (nla) failure = HYBRID_REQUIRED_BY_SERVER;
          else if (requested & PROTOCOL_SSL) selected = PROTOCOL_SSL;
          else if (!windows && req.requested !== undefined) failure = SSL_REQUIRED_BY_SERVER;
          else selected = PROTOCOL_RDP;
          session.record('connect_request', {
            username: req.cookie !== undefined ? clip(req.cookie, 128) : undefined,
            routing_token: req.routingToken !== undefined ? clip(req.routingToken, 128) : undefined,
            requested_protocols: req.requested === undefined ? 'none' : protocolList(requested),
            neg_flags: req.flags,
            correlation_id: req.correlationId,
            selected: selected === undefined ? undefined : protocolList(selected),
            failure_code: failure,
          });
          if (failure !== undefined) {
            state = 'done';
            socket.end(connectionConfirm(0x03, 0, failure));
            return false;
          }
          const negotiated = req.requested !== undefined;
          socket.write(connectionConfirm(negotiated ? 0x02 : undefined, negFlags, selected!));
          if (selected === PROTOCOL_RDP) {
            state = 'mcs';
            continue;
          }
          state = 'done';
          socket.removeListener('data', onData);
          upgrade(socket, session, selected!, q.drain());
          return false;
        }
        return state !== 'done';
      };

      function onData(chunk: Buffer): void {
        if (state !== 'done' && !q.feed(chunk, drain)) socket.destroy();
      }
      socket.on('data', onData);
    }

    return { onConnection: handle };
  },
};

export default service;
