// SMB decoy (TCP 445 direct, 139 NetBIOS session service): SMB2/3 NEGOTIATE answered like the
// persona's server (Windows picks up to 3.1.1 by build, with SMB 3.1.1 negotiate contexts; Samba
// likewise), an SMB1 NEGOTIATE that offers SMB2 upgraded the way Windows does it (dialect 0x02FF),
// and SESSION_SETUP carried through NTLMSSP: the CHALLENGE names the decky (NetBIOS and DNS names,
// domain, OS build, which is what smb-os-discovery style tools read), the AUTHENTICATE is parsed and
// recorded as a hashcat-ready NetNTLMv1/v2 line, and the answer is STATUS_LOGON_FAILURE. No session
// is ever established, so no share, file or pipe is reachable. On 139 the client's NetBIOS name from
// the session request is recorded too.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ByteQueue } from '../proto/byte-queue.ts';
import { ntlmTarget, windowsVersionOf } from '../proto/ntlm-target.ts';
import { buildChallenge, challengeOf, crackableHash, fileTime, ntlmMessageType, parseAuthenticate, parseNegotiate, versionString } from '../proto/ntlmssp.ts';
import { clip, hexPreview } from '../proto/preview.ts';
import { Seeded } from '../proto/seed.ts';
import { negTokenRespChallenge, serverNegTokenInit, unwrapSecurityToken } from '../proto/spnego.ts';
import { personaFacts } from '../personas/facts.ts';
import type { DecoyService, Listen, Session } from '../service.ts';

const MAX_MESSAGE = 128 * 1024;
const MAX_SESSIONS = 16;

const SMB1_MAGIC = 0x424d53ff; // \xffSMB read as UInt32LE
const SMB2_MAGIC = 0x424d53fe; // \xfeSMB
const SMB3_TRANSFORM = 0x424d53fd;

const CMD_NEGOTIATE = 0x0000;
const CMD_SESSION_SETUP = 0x0001;
const CMD_LOGOFF = 0x0002;
const CMD_ECHO = 0x000d;
const CMD_CANCEL = 0x000c;
const COMMAND_NAMES = ['negotiate', 'session_setup', 'logoff', 'tree_connect', 'tree_disconnect', 'create', 'close', 'flush', 'read', 'write', 'lock', 'ioctl', 'cancel', 'echo', 'query_directory', 'change_notify', 'query_info', 'set_info', 'oplock_break'];

const STATUS_SUCCESS = 0;
const STATUS_MORE_PROCESSING_REQUIRED = 0xc0000016;
const STATUS_LOGON_FAILURE = 0xc000006d;
const STATUS_ACCESS_DENIED = 0xc0000022;
const STATUS_INVALID_PARAMETER = 0xc000000d;
const STATUS_NOT_SUPPORTED = 0xc00000bb;
const STATUS_USER_SESSION_DELETED = 0xc0000203;

const DIALECT_NAMES: Record<number, string> = { 0x0202: '2.0.2', 0x0210: '2.1', 0x0300: '3.0', 0x0302: '3.0.2', 0x0311: '3.1.1', 0x02ff: '2.???' };

interface Smb2Header {
  creditCharge: number;
  command: number;
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  processId: number;
  treeId: number;
  sessionId: bigint;
}

function parseHeader(b: Buffer): Smb2Header {
  return {
    creditCharge: b.readUInt16LE(6),
    command: b.readUInt16LE(12),
    credits: b.readUInt16LE(14),
    flags: b.readUInt32LE(16),
    nextCommand: b.readUInt32LE(20),
    messageId: b.readBigUInt64LE(24),
    processId: b.readUInt32LE(32),
    treeId: b.readUInt32LE(36),
    sessionId: b.readBigUInt64LE(40),
  };
}

function responseHeader(req: Pick<Smb2Header, 'command' | 'messageId' | 'processId' | 'treeId' | 'sessionId' | 'creditCharge'>, status: number, credits: number): Buffer {
  const h = Buffer.alloc(64);
  h.writeUInt32LE(SMB2_MAGIC, 0);
  h.writeUInt16LE(64, 4);
  h.writeUInt16LE(req.creditCharge, 6);
  h.writeUInt32LE(status >>> 0, 8);
  h.writeUInt16LE(req.command, 12);
  h.writeUInt16LE(credits, 14);
  h.writeUInt32LE(0x00000001, 16); // SMB2_FLAGS_SERVER_TO_REDIR
  h.writeBigUInt64LE(req.messageId, 24);
  h.writeUInt32LE(req.processId, 32);
  h.writeUInt32LE(req.treeId, 36);
  h.writeBigUInt64LE(req.sessionId, 40);
  return h;
}

/** SMB2 ERROR response body (MS-SMB2 2.2.2). */
const errorBody = (): Buffer => Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 0]);

/** NetBIOS first-level decoding of a 32-character name (RFC 1001 §14.1). */
function netbiosDecode(encoded: Buffer): string {
  if (encoded.length < 33 || encoded[0] !== 32) return '';
  let out = '';
  for (let i = 0; i < 32; i += 2) {
    const hi = encoded[1 + i]! - 0x41;
    const lo = encoded[2 + i]! - 0x41;
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) return '';
    out += String.fromCharCode((hi << 4) | lo);
  }
  const suffix = out.charCodeAt(15);
  return `${out.slice(0, 15).trimEnd().replace(/[^\x20-\x7e]/g, '?')}<${suffix.toString(16).padStart(2, '0')}>`;
}

const service: DecoyService = {
  name: 'smb',
  summary: 'SMB2 negotiate and NTLMSSP session setup',
  listens: [
    { port: 445, transport: 'tcp' },
    { port: 139, transport: 'tcp' },
  ],
  personaKeys: {
    domain: { summary: 'AD domain of Windows personas (auto: from the host name, else corp.local)', default: 'auto' },
    max_dialect: { summary: 'highest dialect offered (auto: by Windows build; Samba 3.1.1)', default: 'auto', choices: ['auto', '2.0.2', '2.1', '3.0', '3.0.2', '3.1.1'] },
    signing: { summary: 'signing required (auto: on domain controllers, as Windows does)', default: 'auto', choices: ['auto', 'required', 'enabled'] },
  },
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const target = ntlmTarget(ctx.decky.persona, ctx.config.domain);
    const version = windowsVersionOf(ctx.decky.persona);
    const seed = new Seeded(ctx.decky.name, 'smb');
    const serverGuid = seed.bytes(16);
    const windows = facts.windows !== undefined;
    const byBuild = !windows || version.build >= 10240 ? 0x0311 : version.build >= 9600 ? 0x0302 : version.build >= 9200 ? 0x0300 : 0x0210;
    const maxByName: Record<string, number> = { '2.0.2': 0x0202, '2.1': 0x0210, '3.0': 0x0300, '3.0.2': 0x0302, '3.1.1': 0x0311 };
    const maxDialect = ctx.config.max_dialect === 'auto' ? byBuild : (maxByName[ctx.config.max_dialect!] ?? byBuild);
    const supported = [0x0202, 0x0210, 0x0300, 0x0302, 0x0311].filter((d) => d <= maxDialect);
    const signingRequired = ctx.config.signing === 'required' || (ctx.config.signing === 'auto' && ctx.decky.persona.archetype === 'domain-controller');
    const securityMode = signingRequired ? 0x03 : 0x01;
    const negToken = serverNegTokenInit();

    function negotiateResponse(req: Pick<Smb2Header, 'command' | 'messageId' | 'processId' | 'treeId' | 'sessionId' | 'creditCharge'>, dialect: number, clientContexts: Map<number, Buffer>): Buffer {
      const caps = dialect === 0x0202 ? 0x01 : dialect === 0x0210 || dialect === 0x02ff ? 0x07 : dialect === 0x0311 ? 0x2f : 0x6f;
      const maxIo = dialect === 0x0202 ? 65536 : 8388608;
      const body = Buffer.alloc(64);
      body.writeUInt16LE(65, 0);
      body.writeUInt16LE(securityMode, 2);
      body.writeUInt16LE(dialect, 4);
      serverGuid.copy(body, 8);
      body.writeUInt32LE(caps, 24);
      body.writeUInt32LE(maxIo, 28);
      body.writeUInt32LE(maxIo, 32);
      body.writeUInt32LE(maxIo, 36);
      fileTime().copy(body, 40);
      // ServerStartTime stays 0, as on current Windows.
      body.writeUInt16LE(128, 56);
      body.writeUInt16LE(negToken.length, 58);
      const parts = [body, negToken];
      if (dialect === 0x0311) {
        const contexts: Buffer[] = [];
        const ctxBlock = (type: number, data: Buffer): Buffer => {
          const h = Buffer.alloc(8);
          h.writeUInt16LE(type, 0);
          h.writeUInt16LE(data.length, 2);
          const padded = Buffer.concat([h, data]);
          return Buffer.concat([padded, Buffer.alloc((8 - (padded.length % 8)) % 8)]);
        };
        const preauth = Buffer.alloc(6);
        preauth.writeUInt16LE(1, 0); // one hash algorithm
        preauth.writeUInt16LE(32, 2); // salt length
        preauth.writeUInt16LE(1, 4); // SHA-512
        contexts.push(ctxBlock(1, Buffer.concat([preauth, randomBytes(32)])));
        const offered = (type: number): number[] => {
          const d = clientContexts.get(type);
          if (!d || d.length < 2) return [];
          const n = Math.min(d.readUInt16LE(0), (d.length - 2) >> 1, 16);
          return Array.from({ length: n }, (_, i) => d.readUInt16LE(2 + i * 2));
        };
        const ciphers = offered(2);
        if (clientContexts.has(2)) {
          const pick = [0x0002, 0x0001, 0x0004, 0x0003].find((c) => ciphers.includes(c)) ?? 0;
          contexts.push(ctxBlock(2, Buffer.from([1, 0, pick & 0xff, pick >> 8])));
        }
        if (clientContexts.has(8) && version.build >= 20348) {
          const algs = offered(8);
          const pick = [0x0002, 0x0001, 0x0000].find((a) => algs.includes(a)) ?? 1;
          contexts.push(ctxBlock(8, Buffer.from([1, 0, pick & 0xff, pick >> 8])));
        }
        const securityEnd = 64 + 64 + negToken.length;
        const pad = (8 - (securityEnd % 8)) % 8;
        body.writeUInt16LE(contexts.length, 6);
        body.writeUInt32LE(securityEnd + pad, 60);
        parts.push(Buffer.alloc(pad), ...contexts);
      }
      return Buffer.concat([responseHeader(req, STATUS_SUCCESS, 1), ...parts]);
    }

    function handle(socket: Socket, session: Session, listen: Listen): void {
      // The second listener (139 by default) speaks the NetBIOS session service; the first is direct TCP.
      const netbios = ctx.listens.indexOf(listen) === 1 || listen.port === 139;
      const q = new ByteQueue(MAX_MESSAGE + 4);
      let sessionRequested = !netbios;
      let negotiated = false;
      const challenges = new Map<bigint, Buffer>();
      let closed = false;

      const sendFrame = (msg: Buffer): void => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(msg.length & 0xffffff);
        socket.write(Buffer.concat([head, msg]));
      };
      const close = (): void => {
        closed = true;
        socket.end();
      };

      const onSmb1 = (msg: Buffer): void => {
        const command = msg[4];
        if (command !== 0x72 || msg.length < 35) {
          session.record('request', { protocol: 'smb1', command: command ?? -1 });
          close();
          return;
        }
        const wordCount = msg[32]!;
        const byteStart = 33 + wordCount * 2;
        const byteCount = msg.length >= byteStart + 2 ? msg.readUInt16LE(byteStart) : 0;
        const dialects = msg
          .subarray(byteStart + 2, byteStart + 2 + byteCount)
          .toString('latin1')
          .split('\u0002')
          .map((s) => s.replace(/\0+$/, ''))
          .filter(Boolean)
          .slice(0, 32);
        const wantsAny = dialects.includes('SMB 2.???');
        const wants202 = dialects.includes('SMB 2.002');
        session.record('negotiate', { protocol: 'smb1', dialects: clip(dialects.join(','), 512), smb2_offered: wantsAny || wants202 });
        if (!wantsAny && !wants202) {
          // SMB1 is disabled on current Windows and Samba: the connection is dropped.
          close();
          return;
        }
        negotiated = true;
        const req = { command: CMD_NEGOTIATE, messageId: 0n, processId: 0xfeff, treeId: 0, sessionId: 0n, creditCharge: 0 };
        sendFrame(negotiateResponse(req, wantsAny ? 0x02ff : 0x0202, new Map()));
      };

      const onNegotiate = (h: Smb2Header, msg: Buffer): Buffer => {
        const count = msg.readUInt16LE(64 + 2);
        const clientSecurityMode = msg.readUInt16LE(64 + 4);
        const clientCaps = msg.readUInt32LE(64 + 8);
        const clientGuid = msg.subarray(64 + 12, 64 + 28);
        const dialects: number[] = [];
        for (let i = 0; i < Math.min(count, 64) && 64 + 36 + i * 2 + 2 <= msg.length; i++) dialects.push(msg.readUInt16LE(64 + 36 + i * 2));
        const contexts = new Map<number, Buffer>();
        if (dialects.includes(0x0311) && msg.length >= 64 + 36) {
          let off = msg.readUInt32LE(64 + 28);
          const n = msg.readUInt16LE(64 + 32);
          for (let i = 0; i < Math.min(n, 16) && off + 8 <= msg.length; i++) {
            const type = msg.readUInt16LE(off);
            const len = msg.readUInt16LE(off + 2);
            if (off + 8 + len > msg.length) break;
            contexts.set(type, msg.subarray(off + 8, off + 8 + len));
            off += 8 + len + ((8 - ((8 + len) % 8)) % 8);
          }
        }
        const chosen = [...supported].reverse().find((d) => dialects.includes(d));
        session.record('negotiate', {
          protocol: 'smb2',
          dialects: dialects.map((d) => DIALECT_NAMES[d] ?? `0x${d.toString(16).padStart(4, '0')}`).join(','),
          chosen: chosen ? DIALECT_NAMES[chosen] : undefined,
          client_guid: clientGuid.toString('hex'),
          client_signing: clientSecurityMode & 0x02 ? 'required' : 'enabled',
          client_capabilities: clientCaps,
          contexts: [...contexts.keys()].join(',') || undefined,
        });
        if (!chosen) return Buffer.concat([responseHeader(h, STATUS_NOT_SUPPORTED, 1), errorBody()]);
        negotiated = true;
        return negotiateResponse(h, chosen, contexts);
      };

      const onSessionSetup = (h: Smb2Header, msg: Buffer): Buffer => {
        const off = msg.readUInt16LE(64 + 12);
        const len = msg.readUInt16LE(64 + 14);
        const blob = off + len <= msg.length && off >= 64 ? msg.subarray(off, off + len) : Buffer.alloc(0);
        const fail = (status: number, sessionId = h.sessionId): Buffer => Buffer.concat([responseHeader({ ...h, sessionId }, status, 1), errorBody()]);
        let unwrapped;
        try {
          unwrapped = unwrapSecurityToken(blob);
        } catch {
          unwrapped = undefined;
        }
        const token = unwrapped?.ntlm;
        const type = token ? ntlmMessageType(token) : 0;
        if (type === 1) {
          const negotiate = parseNegotiate(token!);
          const challengeMsg = buildChallenge(negotiate, target);
          let sid = h.sessionId;
          if (sid === 0n || !challenges.has(sid)) {
            if (challenges.size >= MAX_SESSIONS) return fail(STATUS_ACCESS_DENIED);
            sid = randomBytes(8).readBigUInt64LE() & 0x0000ffffffffffffn;
          }
          challenges.set(sid, challengeOf(challengeMsg));
          session.record('auth_attempt', { auth_method: 'ntlm', stage: 'negotiate', client_os: versionString(negotiate.version), success: false });
          const sec = unwrapped!.framing === 'spnego' ? negTokenRespChallenge(challengeMsg) : challengeMsg;
          const body = Buffer.alloc(8);
          body.writeUInt16LE(9, 0);
          body.writeUInt16LE(72, 4);
          body.writeUInt16LE(sec.length, 6);
          return Buffer.concat([responseHeader({ ...h, sessionId: sid }, STATUS_MORE_PROCESSING_REQUIRED, Math.max(1, Math.min(h.credits, 33))), body, sec]);
        }
        if (type === 3) {
          const challenge = challenges.get(h.sessionId);
          challenges.delete(h.sessionId);
          if (!challenge) return fail(STATUS_USER_SESSION_DELETED);
          const auth = parseAuthenticate(token!);
          const hash = crackableHash(auth, challenge);
          session.record(
            'auth_attempt',
            {
              auth_method: auth.kind === 'anonymous' ? 'anonymous' : 'ntlm',
              username: clip(auth.user),
              domain: clip(auth.domain),
              workstation: clip(auth.workstation),
              principal: auth.domain ? clip(`${auth.domain}\\${auth.user}`) : clip(auth.user),
              client_os: versionString(auth.version),
              secret_kind: auth.kind === 'v2' ? 'ntlmssp_v2' : auth.kind === 'v1' ? 'ntlmssp_v1' : undefined,
              success: false,
            },
            hash ? { secret: hash } : undefined,
          );
          return fail(auth.kind === 'anonymous' ? STATUS_ACCESS_DENIED : STATUS_LOGON_FAILURE);
        }
        session.record('auth_attempt', { auth_method: unwrapped?.mechTypes.length ? `spnego:${clip(unwrapped.mechTypes.join(','), 128)}` : 'unknown', stage: 'unsupported_token', success: false, data_hex: hexPreview(blob, 32) });
        return fail(blob.length === 0 ? STATUS_INVALID_PARAMETER : STATUS_LOGON_FAILURE);
      };

      const onSmb2 = (msg: Buffer): void => {
        let offset = 0;
        for (let n = 0; n < 8 && offset + 64 <= msg.length; n++) {
          const part = msg.subarray(offset);
          const h = parseHeader(part);
          const end = h.nextCommand > 0 && h.nextCommand <= part.length ? h.nextCommand : part.length;
          const one = part.subarray(0, end);
          let out: Buffer | undefined;
          if (h.command === CMD_NEGOTIATE && one.length >= 64 + 36) out = onNegotiate(h, one);
          else if (!negotiated) {
            session.record('request', { protocol: 'smb2', command: COMMAND_NAMES[h.command] ?? h.command, reason: 'before_negotiate' });
            close();
            return;
          } else if (h.command === CMD_SESSION_SETUP && one.length >= 64 + 24) out = onSessionSetup(h, one);
          else if (h.command === CMD_ECHO) out = Buffer.concat([responseHeader(h, STATUS_SUCCESS, 1), Buffer.from([4, 0, 0, 0])]);
          else if (h.command === CMD_CANCEL) out = undefined;
          else {
            session.record('request', { protocol: 'smb2', command: COMMAND_NAMES[h.command] ?? h.command, tree_id: h.treeId || undefined });
            out = Buffer.concat([responseHeader(h, h.command === CMD_LOGOFF || h.sessionId !== 0n ? STATUS_USER_SESSION_DELETED : STATUS_ACCESS_DENIED, 1), errorBody()]);
          }
          if (out) sendFrame(out);
          if (end === part.length) return;
          offset += end;
        }
      };

      const onSessionRequest = (payload: Buffer): void => {
        const called = netbiosDecode(payload.subarray(0, 34));
        const calling = netbiosDecode(payload.subarray(34, 68));
        session.record('session_request', { called_name: clip(called, 32), calling_name: clip(calling, 32) });
        sessionRequested = true;
        socket.write(Buffer.from([0x82, 0, 0, 0])); // positive session response
      };

      const drain = (): boolean => {
        while (!closed && q.length >= 4) {
          const head = q.peek(4);
          const type = head[0]!;
          const len = netbios ? (((head[1]! & 1) << 16) | head.readUInt16BE(2)) : head.readUInt32BE(0) & 0xffffff;
          if (len > MAX_MESSAGE || (type !== 0x00 && type !== 0x81 && type !== 0x85)) {
            session.record('payload', { reason: 'bad_framing', data_hex: hexPreview(q.peek(64)) });
            close();
            return false;
          }
          if (q.length < 4 + len) return true;
          const frame = q.take(4 + len);
          const payload = frame.subarray(4);
          if (type === 0x85) continue; // keep-alive
          if (type === 0x81) {
            if (netbios && !sessionRequested) onSessionRequest(payload);
            continue;
          }
          if (!sessionRequested) {
            socket.end(Buffer.from([0x83, 0, 0, 1, 0x8f])); // negative response: unspecified error
            closed = true;
            return false;
          }
          const magic = payload.length >= 4 ? payload.readUInt32LE(0) : 0;
          if (magic === SMB1_MAGIC) onSmb1(payload);
          else if (magic === SMB2_MAGIC && payload.length >= 64) onSmb2(payload);
          else {
            session.record('payload', { reason: magic === SMB3_TRANSFORM ? 'encrypted_without_session' : 'not_smb', data_hex: hexPreview(payload) });
            close();
            return false;
          }
        }
        return !closed;
      };

      socket.on('data', (chunk: Buffer) => {
        if (closed) return;
        try {
          if (!q.feed(chunk, drain)) {
            session.record('payload', { reason: 'message_too_large', data_hex: hexPreview(q.peek(64)) });
            socket.destroy();
          }
        } catch (err) {
          if (!(err instanceof RangeError)) throw err;
          session.record('payload', { reason: 'malformed', error: clip(err.message, 128), data_hex: hexPreview(q.peek(64)) });
          closed = true;
          socket.destroy();
        }
      });
    }

    return { onConnection: handle };
  },
};

export default service;
