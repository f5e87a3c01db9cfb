// Microsoft SQL Server decoy (TDS 7.x): PRELOGIN, the TLS handshake tunnelled in TDS packets as a
// real server does it, LOGIN7 (SQL login: the password, de-obfuscated; Windows login: NTLMSSP
// through SSPI packets, recorded as a crackable NetNTLM hash), then error 18456 "Login failed".
// The old TDS 4.2/5.0 login packet (some brute-forcers still send it) is parsed as well.
//
// Encryption follows the server's rules: a client that does not support TLS logs in in clear; a
// client with ENCRYPT_OFF gets TLS for the login packet only (the reply comes back in clear); a
// client asking for encryption gets TLS for the whole session.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts } from '../personas/facts.ts';
import { ByteQueue } from '../proto/byte-queue.ts';
import { scanClientHello } from '../tls-fingerprint.ts';
import { recordHello } from '../tls-server.ts';

const PKT_SQL_BATCH = 0x01;
const PKT_PRE_TDS7_LOGIN = 0x02;
const PKT_RESPONSE = 0x04;
const PKT_LOGIN7 = 0x10;
const PKT_SSPI = 0x11;
const PKT_PRELOGIN = 0x12;

const ENCRYPT_OFF = 0;
const ENCRYPT_ON = 1;
const ENCRYPT_NOT_SUP = 2;
const ENCRYPT_REQ = 3;

const MAX_PACKET = 32 * 1024;
const MAX_MESSAGE = 64 * 1024;
const MAX_FIELD = 256;

interface SqlVersion {
  major: number;
  minor: number;
  build: number;
  sub: number;
}

function parseVersion(v: string): SqlVersion {
  const [major = 15, minor = 0, build = 2000, sub = 0] = v.split('.').map((x) => Number(x) || 0);
  return { major, minor, build, sub };
}

function tdsPacket(type: number, payload: Buffer, packetId: number, last = true): Buffer {
  const head = Buffer.alloc(8);
  head[0] = type;
  head[1] = last ? 0x01 : 0x00;
  head.writeUInt16BE(payload.length + 8, 2);
  head[6] = packetId & 0xff;
  return Buffer.concat([head, payload]);
}

interface PreloginOptions {
  version?: Buffer;
  encryption?: number;
  instance?: string;
  threadId?: number;
  mars?: number;
}

export function parsePrelogin(payload: Buffer): PreloginOptions {
  const out: PreloginOptions = {};
  let at = 0;
  for (let n = 0; n < 16 && at < payload.length; n++) {
    const token = payload[at]!;
    if (token === 0xff) break;
    if (at + 5 > payload.length) break;
    const off = payload.readUInt16BE(at + 1);
    const len = payload.readUInt16BE(at + 3);
    at += 5;
    if (off + len > payload.length) continue;
    const data = payload.subarray(off, off + len);
    if (token === 0 && len >= 6) out.version = Buffer.from(data.subarray(0, 6));
    else if (token === 1 && len >= 1) out.encryption = data[0];
    else if (token === 2) out.instance = data.subarray(0, Math.max(0, data.indexOf(0) >= 0 ? data.indexOf(0) : data.length)).toString('latin1').slice(0, MAX_FIELD);
    else if (token === 3 && len >= 4) out.threadId = data.readUInt32BE(0);
    else if (token === 4 && len >= 1) out.mars = data[0];
  }
  return out;
}

function preloginResponse(v: SqlVersion, encryption: number, withMars: boolean): Buffer {
  const opts: [number, Buffer][] = [];
  const ver = Buffer.alloc(6);
  ver[0] = v.major;
  ver[1] = v.minor;
  ver.writeUInt16BE(v.build, 2);
  ver.writeUInt16BE(v.sub, 4);
  opts.push([0, ver], [1, Buffer.from([encryption])], [2, Buffer.from([0])], [3, Buffer.alloc(0)]);
  if (withMars) opts.push([4, Buffer.from([0])]);
  const headerLen = opts.length * 5 + 1;
  const head = Buffer.alloc(headerLen);
  let off = headerLen;
  opts.forEach(([token, data], i) => {
    head[i * 5] = token;
    head.writeUInt16BE(off, i * 5 + 1);
    head.writeUInt16BE(data.length, i * 5 + 3);
    off += data.length;
  });
  head[headerLen - 1] = 0xff;
  return Buffer.concat([head, ...opts.map(([, d]) => d)]);
}

export interface Login7 {
  tdsVersion: number;
  packetSize: number;
  clientProgVer: number;
  clientPid: number;
  optionFlags2: number;
  hostname: string;
  username: string;
  password: Buffer;
  appName: string;
  serverName: string;
  library: string;
  language: string;
  database: string;
  clientMac: string;
  sspi: Buffer;
}

/** TDS password obfuscation is a nibble swap then XOR 0xA5 per byte; undo both. */
export function deobfuscatePassword(data: Buffer): Buffer {
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i]! ^ 0xa5;
    out[i] = ((x & 0x0f) << 4) | (x >> 4);
  }
  return out;
}

export function parseLogin7(p: Buffer): Login7 {
  if (p.length < 94) throw new RangeError('LOGIN7 too short');
  const field = (at: number): Buffer => {
    const off = p.readUInt16LE(at);
    const chars = p.readUInt16LE(at + 2);
    const end = off + chars * 2;
    if (chars === 0 || off < 36 || end > p.length) return Buffer.alloc(0);
    return p.subarray(off, end);
  };
  const text = (at: number): string => field(at).toString('utf16le').slice(0, MAX_FIELD);
  const sspiOff = p.readUInt16LE(78);
  let sspiLen = p.readUInt16LE(80);
  if (sspiLen === 0xffff && p.length >= 94) sspiLen = p.readUInt32LE(90);
  const sspi = sspiLen > 0 && sspiOff + sspiLen <= p.length ? Buffer.from(p.subarray(sspiOff, sspiOff + sspiLen)) : Buffer.alloc(0);
  return {
    tdsVersion: p.readUInt32LE(4),
    packetSize: p.readUInt32LE(8),
    clientProgVer: p.readUInt32LE(12),
    clientPid: p.readUInt32LE(16),
    optionFlags2: p[25]!,
    hostname: text(36),
    username: text(40),
    password: deobfuscatePassword(field(44)),
    appName: text(48),
    serverName: text(52),
    library: text(60),
    language: text(64),
    database: text(68),
    clientMac: p.subarray(72, 78).toString('hex').replace(/(..)(?=.)/g, '$1:'),
    sspi,
  };
}

/** TDS 4.2/5.0 LOGIN record: fixed 30-byte fields each followed by a length byte. */
export function parsePreTds7Login(p: Buffer): { hostname: string; username: string; password: Buffer; appName: string } {
  const fixed = (at: number): Buffer => {
    if (p.length < at + 31) return Buffer.alloc(0);
    const len = Math.min(p[at + 30]!, 30);
    return p.subarray(at, at + len);
  };
  return {
    hostname: fixed(0).toString('latin1'),
    username: fixed(31).toString('latin1'),
    password: Buffer.from(fixed(62)),
    appName: fixed(124).toString('latin1'),
  };
}

function usVarchar(s: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(s.length, 0);
  return Buffer.concat([len, b]);
}

function bVarchar(s: string): Buffer {
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'utf16le')]);
}

/** ERROR token + DONE(error) token, as sent for a failed login. */
function loginFailed(server: string, number: number, text: string, tdsVersion: number): Buffer {
  const modern = tdsVersion >= 0x72090002;
  const lineNo = Buffer.alloc(modern ? 4 : 2);
  if (modern) lineNo.writeInt32LE(1, 0);
  else lineNo.writeUInt16LE(1, 0);
  const num = Buffer.alloc(6);
  num.writeInt32LE(number, 0);
  num[4] = 1; // state, as clients are shown it
  num[5] = 14; // class
  const body = Buffer.concat([num, usVarchar(text), bVarchar(server), bVarchar(''), lineNo]);
  const err = Buffer.concat([Buffer.from([0xaa, body.length & 0xff, body.length >> 8]), body]);
  const done = Buffer.alloc(modern ? 13 : 9);
  done[0] = 0xfd;
  done.writeUInt16LE(0x0002, 1);
  return Buffer.concat([err, done]);
}

/**
 * The TLS layer's transport during a TDS login: handshake records travel inside TDS PRELOGIN
 * packets, later records go raw on the wire. Feed it everything the client sends; it hands the
 * TLS socket what is TLS and calls `onPlain` with what arrives in clear after the handshake
 * (in login-only encryption, everything after LOGIN7).
 */
class TdsTlsTransport extends Duplex {
  private readonly raw: Socket;
  private readonly inbox: ByteQueue = new ByteQueue(MAX_PACKET * 2);
  private packetId = 1;
  /** Tunnelled handshake bytes seen so far, until the ClientHello is complete (for its fingerprint). */
  private hello: Buffer | null = Buffer.alloc(0);
  private readonly onHello: (data: Buffer) => boolean;
  constructor(raw: Socket, onHello: (data: Buffer) => boolean) {
    super();
    this.raw = raw;
    this.onHello = onHello;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    // Split into TLS records: handshake-phase records (alert 0x15, CCS 0x14, handshake 0x16) are
    // wrapped in PRELOGIN packets; application data (0x17) goes raw.
    let at = 0;
    while (at + 5 <= chunk.length) {
      const len = chunk.readUInt16BE(at + 3);
      const rec = chunk.subarray(at, at + 5 + len);
      if (rec[0] === 0x17) this.raw.write(rec);
      else this.raw.write(tdsPacket(PKT_PRELOGIN, rec, this.packetId++));
      at += 5 + len;
    }
    if (at < chunk.length) this.raw.write(chunk.subarray(at));
    done();
  }
  override _final(done: (err?: Error | null) => void): void {
    done();
  }
  /** Bytes from the client: TDS-wrapped handshake or raw TLS records. False = malformed or too much. */
  feed(data: Buffer): boolean {
    if (!this.inbox.push(data)) return false;
    while (this.inbox.length >= 5) {
      const head = this.inbox.peek(8);
      if (head[0] === PKT_PRELOGIN) {
        if (head.length < 8) return true;
        const len = head.readUInt16BE(2);
        if (len < 8 || len > MAX_PACKET) return false;
        if (this.inbox.length < len) return true;
        const payload = this.inbox.take(len).subarray(8);
        if (this.hello) {
          this.hello = Buffer.concat([this.hello, payload]);
          if (this.onHello(this.hello) || this.hello.length > MAX_PACKET) this.hello = null;
        }
        this.push(payload);
      } else if (head[0]! >= 0x14 && head[0]! <= 0x17) {
        const len = head.readUInt16BE(3);
        if (this.inbox.length < 5 + len) return true;
        this.push(this.inbox.take(5 + len));
      } else return false;
    }
    return true;
  }
}

interface Profile {
  version: SqlVersion;
  serverName: string;
  tls: boolean;
  netbios: string;
  windowsVersion: { major: number; minor: number; build: number };
}

function serveConnection(ctx: ServiceContext, profile: Profile, raw: Socket, session: Session): void {
  const queue = new ByteQueue(MAX_MESSAGE + MAX_PACKET);
  let phase: 'prelogin' | 'tls' | 'login' | 'sspi' | 'done' = 'prelogin';
  let tlsMode: 'none' | 'login-only' | 'full' = 'none';
  let transport: TdsTlsTransport | null = null;
  let tls: TLSSocket | null = null;
  const tlsQueue = new ByteQueue(MAX_MESSAGE + MAX_PACKET);
  let message: Buffer[] = [];
  let messageLen = 0;
  let serverPacketId = 1;
  let pendingLogin: Login7 | null = null;
  let ntlmChallenge: Buffer | null = null;
  let spnego = false;

  const finish = (reply: Buffer): void => {
    phase = 'done';
    const out = tdsPacket(PKT_RESPONSE, reply, serverPacketId++);
    if (tlsMode === 'full' && tls) {
      tls.end(out);
      tls.once('finish', () => raw.end());
    } else raw.end(out);
  };

  const fail = (): void => {
    phase = 'done';
    raw.destroy();
  };

  const onPrelogin = (payload: Buffer): void => {
    const opts = parsePrelogin(payload);
    const clientEnc = opts.encryption ?? ENCRYPT_NOT_SUP;
    let answer = ENCRYPT_NOT_SUP;
    if (profile.tls && clientEnc !== ENCRYPT_NOT_SUP) answer = clientEnc === ENCRYPT_OFF ? ENCRYPT_OFF : ENCRYPT_ON;
    session.record('prelogin', {
      client_version: opts.version ? `${opts.version[0]}.${opts.version[1]}.${opts.version.readUInt16BE(2)}.${opts.version.readUInt16BE(4)}` : undefined,
      encryption: ['off', 'on', 'not_supported', 'required'][clientEnc] ?? String(clientEnc),
      instance: opts.instance || undefined,
      thread_id: opts.threadId,
    });
    raw.write(tdsPacket(PKT_RESPONSE, preloginResponse(profile.version, answer, opts.mars !== undefined), serverPacketId++));
    if (answer === ENCRYPT_NOT_SUP) {
      phase = 'login';
      return;
    }
    tlsMode = answer === ENCRYPT_OFF ? 'login-only' : 'full';
    phase = 'tls';
    void startTls();
  };

  const startTls = async (): Promise<void> => {
    let creds: { key: string; cert: string };
    try {
      creds = await ctx.tlsCredentials();
    } catch {
      fail();
      return;
    }
    if (raw.destroyed) return;
    transport = new TdsTlsTransport(raw, (data) => {
      const scan = scanClientHello(data);
      if (scan.status === 'incomplete') return false;
      if (scan.status !== 'not_tls') recordHello(session, scan, 'tds', data);
      return true;
    });
    // TDS 7.x clients negotiate TLS 1.2 at most inside the PRELOGIN tunnel.
    tls = new TLSSocket(transport, { isServer: true, key: creds.key, cert: creds.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.2' });
    tls.on('error', () => fail());
    tls.on('data', (chunk: Buffer) => {
      try {
        if (!tlsQueue.push(chunk)) return fail();
        drain(tlsQueue, true);
      } catch (err) {
        ctx.log.debug('mssql session error', { err });
        fail();
      }
    });
    tls.on('secure', () => {
      phase = 'login';
    });
    // Whatever the client already sent after PRELOGIN goes to the TLS layer.
    if (queue.length > 0 && !transport.feed(queue.drain())) fail();
  };

  const onLogin7 = (payload: Buffer): void => {
    let login: Login7;
    try {
      login = parseLogin7(payload);
    } catch {
      session.record('protocol_error', { error: 'malformed LOGIN7' });
      fail();
      return;
    }
    if (tlsMode === 'login-only') {
      // Only LOGIN7 was encrypted: everything after it is clear again.
      tlsMode = 'none';
    }
    const integrated = (login.optionFlags2 & 0x80) !== 0 && login.sspi.length > 0;
    if (integrated) {
      void startNtlm(login);
      return;
    }
    recordLogin(login, 'sql', login.password.toString('utf16le').slice(0, 1024), 'plaintext');
    finish(loginFailed(profile.serverName, 18456, `Login failed for user '${login.username}'.`, login.tdsVersion));
  };

  const recordLogin = (login: Login7, method: string, secret: string | undefined, kind: string, extra: Record<string, string | undefined> = {}): void => {
    session.record(
      'auth_attempt',
      {
        username: login.username,
        auth_method: method,
        secret_kind: kind,
        hostname: login.hostname || undefined,
        app_name: login.appName || undefined,
        server_name: login.serverName || undefined,
        library: login.library || undefined,
        database: login.database || undefined,
        language: login.language || undefined,
        client_mac: login.clientMac,
        client_pid: login.clientPid,
        tds_version: '0x' + login.tdsVersion.toString(16),
        tls: tls !== null,
        success: false,
        ...extra,
      },
      secret !== undefined && secret.length > 0 ? { secret } : undefined,
    );
  };

  const startNtlm = async (login: Login7): Promise<void> => {
    const [ntlm, spnegoMod] = await Promise.all([import('../proto/ntlmssp.ts'), import('../proto/spnego.ts')]);
    let token: Buffer | undefined;
    try {
      const unwrapped = spnegoMod.unwrapSecurityToken(login.sspi);
      spnego = unwrapped.framing !== 'raw';
      token = unwrapped.ntlm;
    } catch {
      token = undefined;
    }
    if (!token || ntlm.ntlmMessageType(token) !== 1) {
      recordLogin(login, 'sspi', undefined, 'none', { sspi_mech: 'unsupported' });
      finish(loginFailed(profile.serverName, 18452, 'Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.', login.tdsVersion));
      return;
    }
    const negotiate = ntlm.parseNegotiate(token);
    const challengeMsg = ntlm.buildChallenge(negotiate, {
      computer: profile.netbios,
      domain: 'WORKGROUP',
      dnsComputer: profile.serverName.toLowerCase(),
      dnsDomain: '',
      joined: false,
      version: profile.windowsVersion,
    }, randomBytes(8));
    ntlmChallenge = ntlm.challengeOf(challengeMsg);
    pendingLogin = login;
    const blob = spnego ? spnegoMod.negTokenRespChallenge(challengeMsg) : challengeMsg;
    const len = Buffer.alloc(2);
    len.writeUInt16LE(blob.length, 0);
    phase = 'sspi';
    const out = tdsPacket(PKT_RESPONSE, Buffer.concat([Buffer.from([0xed]), len, blob]), serverPacketId++);
    if (tlsMode === 'full' && tls) tls.write(out);
    else raw.write(out);
  };

  const onSspi = async (payload: Buffer): Promise<void> => {
    const [ntlm, spnegoMod] = await Promise.all([import('../proto/ntlmssp.ts'), import('../proto/spnego.ts')]);
    const login = pendingLogin!;
    let hash: string | undefined;
    let user = login.username;
    let kind = 'none';
    try {
      const token = spnegoMod.unwrapSecurityToken(payload).ntlm;
      if (token && ntlm.ntlmMessageType(token) === 3) {
        const auth = ntlm.parseAuthenticate(token);
        user = auth.domain ? `${auth.domain}\\${auth.user}` : auth.user;
        hash = ntlm.crackableHash(auth, ntlmChallenge!);
        kind = auth.kind === 'v2' ? 'ntlmssp_v2' : auth.kind === 'v1' ? 'ntlmssp_v1' : 'none';
      }
    } catch {
      // Malformed AUTHENTICATE: recorded without a hash below.
    }
    recordLogin({ ...login, username: user }, 'ntlm', hash, kind);
    finish(loginFailed(profile.serverName, 18456, `Login failed for user '${user}'.`, login.tdsVersion));
  };

  const onMessage = (type: number, payload: Buffer): void => {
    if (phase === 'prelogin') {
      if (type === PKT_PRELOGIN) return onPrelogin(payload);
      if (type === PKT_PRE_TDS7_LOGIN) {
        const l = parsePreTds7Login(payload);
        session.record('auth_attempt', { username: l.username, auth_method: 'sql', secret_kind: 'plaintext', hostname: l.hostname || undefined, app_name: l.appName || undefined, tds_version: '4.2', tls: false, success: false }, l.password.length ? { secret: l.password } : undefined);
        finish(loginFailed(profile.serverName, 18456, `Login failed for user '${l.username}'.`, 0));
        return;
      }
      if (type === PKT_LOGIN7) {
        phase = 'login';
        return onLogin7(payload);
      }
    } else if (phase === 'login' && type === PKT_LOGIN7) {
      return onLogin7(payload);
    } else if (phase === 'sspi' && type === PKT_SSPI) {
      void onSspi(payload);
      return;
    }
    session.record('protocol_error', { error: 'unexpected packet', packet_type: type });
    fail();
  };

  /** Reassembles TDS messages (packets until EOM) from `q`; `q` is the TLS plaintext or the raw stream. */
  const drain = (q: ByteQueue, fromTls: boolean): void => {
    while (phase !== 'done' && q.length >= 8) {
      if (!fromTls && phase === 'tls') return;
      const head = q.peek(8);
      const len = head.readUInt16BE(2);
      if (len < 8 || len > MAX_PACKET) {
        session.record('protocol_error', { error: 'bad packet length', packet_type: head[0] });
        fail();
        return;
      }
      if (q.length < len) return;
      const pkt = q.take(len);
      message.push(pkt.subarray(8));
      messageLen += len - 8;
      if (messageLen > MAX_MESSAGE) return fail();
      if (pkt[1]! & 0x01) {
        const payload = Buffer.concat(message);
        message = [];
        messageLen = 0;
        onMessage(pkt[0]!, payload);
      }
    }
  };

  raw.on('data', (chunk: Buffer) => {
    if (phase === 'done') return;
    if (transport && tlsMode !== 'none') {
      // TLS bytes (tunnelled handshake, then records): the TLS socket decrypts into tlsQueue.
      if (!transport.feed(chunk)) fail();
      return;
    }
    if (!queue.push(chunk)) return fail();
    if (phase === 'tls') return; // held until the TLS socket exists
    drain(queue, false);
  });
  raw.on('end', () => raw.end());
}

const mssql: DecoyService = {
  name: 'mssql',
  summary: 'Microsoft SQL Server (TDS) prelogin, TLS and login capture',
  listens: [{ port: 1433, transport: 'tcp' }],
  personaKeys: {
    version: { summary: 'product version sent in PRELOGIN (SQL Server 2019 RTM = 15.0.2000.5)', default: '15.0.2000.5' },
    encryption: { summary: 'TLS like a real server (login packet at least) or never (clear logins only)', default: 'on', choices: ['on', 'off'] },
  },
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const netbios = facts.shortHostname.toUpperCase().replace(/[^A-Z0-9-]/g, '').slice(0, 15) || 'SQLSRV';
    const build = Number(facts.windows?.build ?? 17763);
    const profile: Profile = {
      version: parseVersion(ctx.config.version),
      serverName: netbios,
      tls: ctx.config.encryption !== 'off',
      netbios,
      windowsVersion: { major: 10, minor: 0, build },
    };
    return {
      onConnection(socket, session) {
        serveConnection(ctx, profile, socket, session);
      },
    };
  },
};

export default mssql;
