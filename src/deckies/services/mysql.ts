// MySQL / MariaDB decoy: protocol v10 handshake, optional TLS, HandshakeResponse41 parsing and the
// two common authentication plugins, ending in ERROR 1045 "Access denied".
//
// What is captured per login attempt (one `auth_attempt` event, with the best secret obtained):
// - caching_sha2_password (MySQL 8 default): after the fast-auth scramble we answer "perform full
//   authentication", so the client sends the password in clear over TLS, or RSA-encrypted with our
//   public key, which we decrypt: the plaintext password either way;
// - mysql_native_password (5.7, MariaDB): the 20-byte scramble plus the salt, crackable offline
//   (hashcat -m 11200 format in `hashcat`);
// - a client speaking another plugin than ours gets an AuthSwitchRequest, as a real server does.
import { generateKeyPair, privateDecrypt, constants as cryptoConstants, randomBytes, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts } from '../personas/facts.ts';
import { ByteQueue } from '../proto/byte-queue.ts';
import { Seeded } from '../proto/seed.ts';
import { acceptTls, secureContextProvider } from '../tls-server.ts';

// Capability flags (protocol docs, "Capabilities Flags").
const CLIENT_LONG_PASSWORD = 0x1;
const CLIENT_CONNECT_WITH_DB = 0x8;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_SECURE_CONNECTION = 0x8000;
const CLIENT_PLUGIN_AUTH = 0x80000;
const CLIENT_CONNECT_ATTRS = 0x100000;
const CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000;
const CLIENT_ZSTD_COMPRESSION = 0x4000000;

const NATIVE = 'mysql_native_password';
const CACHING_SHA2 = 'caching_sha2_password';

const MAX_PACKET = 64 * 1024;
const MAX_ATTRS = 32;
const MAX_FIELD = 256;
const MAX_SECRET = 1024;

interface ServerProfile {
  version: string;
  mariadb: boolean;
  plugin: string;
  charset: number;
  capabilities: number;
  mariadbExtCaps: number;
  tls: boolean;
}

function profileFor(ctx: ServiceContext): ServerProfile {
  let version = ctx.config.version || personaFacts(ctx.decky.persona).mysql;
  const mariadb = /mariadb/i.test(version);
  // MariaDB before 11 prefixes its version with "5.5.5-" for the sake of old clients.
  if (mariadb && /^10\./.test(version)) version = '5.5.5-' + version;
  const major = Number(/^(\d+)/.exec(mariadb ? '5' : version)?.[1] ?? 8);
  const plugin = ctx.config.auth_plugin === NATIVE || ctx.config.auth_plugin === CACHING_SHA2 ? ctx.config.auth_plugin : major >= 8 ? CACHING_SHA2 : NATIVE;
  const tls = ctx.config.ssl !== 'off';
  // The flag sets real servers of each family advertise (8.0: 0xdfffffff; 5.7: 0x81ffffff;
  // MariaDB leaves out CLIENT_LONG_PASSWORD, its "I am MariaDB" marker).
  let capabilities = major >= 8 ? 0xdfffffff : mariadb ? 0xa1fffffe : 0x81ffffff;
  if (!tls) capabilities &= ~CLIENT_SSL;
  return {
    version,
    mariadb,
    plugin,
    charset: major >= 8 ? 0xff : mariadb ? 45 : 8,
    capabilities: capabilities >>> 0,
    mariadbExtCaps: mariadb ? 0x1d : 0,
    tls,
  };
}

/** The 20-byte scramble: printable-ish bytes, never NUL or '$', as mysqld generates. */
function makeSalt(): Buffer {
  const salt = randomBytes(20);
  for (let i = 0; i < salt.length; i++) {
    let b = salt[i]! & 0x7f;
    if (b === 0 || b === 0x24) b = 0x41 + (b % 26);
    salt[i] = b;
  }
  return salt;
}

function packet(seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUIntLE(payload.length, 0, 3);
  head[3] = seq & 0xff;
  return Buffer.concat([head, payload]);
}

function errPacket(seq: number, code: number, state: string, message: string): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0xff;
  head.writeUInt16LE(code, 1);
  return packet(seq, Buffer.concat([head, Buffer.from('#' + state, 'latin1'), Buffer.from(message, 'utf8')]));
}

function handshakePacket(p: ServerProfile, connectionId: number, salt: Buffer): Buffer {
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
  let o = 0;
  o = fixed.writeUInt32LE(connectionId, o);
  salt.copy(fixed, o, 0, 8);
  o += 8;
  fixed[o++] = 0;
  o = fixed.writeUInt16LE(p.capabilities & 0xffff, o);
  fixed[o++] = p.charset;
  o = fixed.writeUInt16LE(0x0002, o); // SERVER_STATUS_AUTOCOMMIT
  o = fixed.writeUInt16LE(p.capabilities >>> 16, o);
  fixed[o++] = 21;
  if (p.mariadb) fixed.writeUInt32LE(p.mariadbExtCaps, o + 6);
  return packet(
    0,
    Buffer.concat([
      Buffer.from([0x0a]),
      Buffer.from(p.version + '\0', 'latin1'),
      fixed,
      salt.subarray(8, 20),
      Buffer.from([0]),
      Buffer.from(p.plugin + '\0', 'latin1'),
    ]),
  );
}

class Reader {
  private o = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  get left(): number {
    return this.buf.length - this.o;
  }
  u8(): number {
    if (this.left < 1) throw new RangeError('short');
    return this.buf[this.o++]!;
  }
  u16(): number {
    if (this.left < 2) throw new RangeError('short');
    const v = this.buf.readUInt16LE(this.o);
    this.o += 2;
    return v;
  }
  u24(): number {
    if (this.left < 3) throw new RangeError('short');
    const v = this.buf.readUIntLE(this.o, 3);
    this.o += 3;
    return v;
  }
  u32(): number {
    if (this.left < 4) throw new RangeError('short');
    const v = this.buf.readUInt32LE(this.o);
    this.o += 4;
    return v;
  }
  skip(n: number): void {
    if (this.left < n) throw new RangeError('short');
    this.o += n;
  }
  bytes(n: number): Buffer {
    if (n < 0 || this.left < n) throw new RangeError('short');
    const b = this.buf.subarray(this.o, this.o + n);
    this.o += n;
    return b;
  }
  /** NUL-terminated; a missing terminator takes the rest. */
  cstr(): Buffer {
    const end = this.buf.indexOf(0, this.o);
    const stop = end < 0 ? this.buf.length : end;
    const b = this.buf.subarray(this.o, stop);
    this.o = end < 0 ? stop : stop + 1;
    return b;
  }
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      const lo = this.u32();
      const hi = this.u32();
      if (hi !== 0) throw new RangeError('too long');
      return lo;
    }
    throw new RangeError('bad lenenc');
  }
}

export interface HandshakeResponse {
  capabilities: number;
  charset: number;
  username: string;
  authResponse: Buffer;
  database: string;
  plugin: string;
  attrs: Record<string, string>;
}

/** Parses HandshakeResponse41 (or the pre-4.1 HandshakeResponse320). Throws on malformed input. */
export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new Reader(payload);
  const caps16 = payload.length >= 2 ? payload.readUInt16LE(0) : 0;
  if (!(caps16 & CLIENT_PROTOCOL_41)) {
    r.u16();
    r.u24();
    const username = r.cstr().toString('utf8');
    const authResponse = Buffer.from(r.cstr());
    return { capabilities: caps16, charset: 0, username, authResponse, database: '', plugin: '', attrs: {} };
  }
  const capabilities = r.u32();
  r.u32(); // max packet size
  const charset = r.u8();
  r.skip(23);
  const username = r.cstr().toString('utf8');
  let authResponse: Buffer;
  if (capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = Buffer.from(r.bytes(r.lenenc()));
  else if (capabilities & CLIENT_SECURE_CONNECTION) authResponse = Buffer.from(r.bytes(r.u8()));
  else authResponse = Buffer.from(r.cstr());
  let database = '';
  if (capabilities & CLIENT_CONNECT_WITH_DB && r.left > 0) database = r.cstr().toString('utf8');
  let plugin = '';
  if (capabilities & CLIENT_PLUGIN_AUTH && r.left > 0) plugin = r.cstr().toString('latin1');
  const attrs: Record<string, string> = {};
  if (capabilities & CLIENT_CONNECT_ATTRS && r.left > 0) {
    const total = r.lenenc();
    const block = new Reader(r.bytes(Math.min(total, r.left)));
    let count = 0;
    while (block.left > 0 && count < MAX_ATTRS) {
      const k = block.bytes(block.lenenc()).toString('utf8').slice(0, MAX_FIELD);
      const v = block.bytes(block.lenenc()).toString('utf8').slice(0, MAX_FIELD);
      attrs[k] = v;
      count++;
    }
  }
  if (capabilities & CLIENT_ZSTD_COMPRESSION && r.left > 0) r.u8();
  return { capabilities, charset, username: username.slice(0, MAX_FIELD), authResponse, database: database.slice(0, MAX_FIELD), plugin: plugin.slice(0, 64), attrs };
}

/** Per-decky RSA key for caching_sha2_password's "send me your public key" path; made on first use. */
function lazyRsaKey(): () => Promise<{ publicPem: string; privateKey: KeyObject }> {
  let pending: Promise<{ publicPem: string; privateKey: KeyObject }> | null = null;
  return () =>
    (pending ??= new Promise((resolve, reject) => {
      generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => {
        if (err) reject(err);
        else resolve({ publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey });
      });
    }));
}

interface Attempt {
  username: string;
  database: string;
  attrs: Record<string, string>;
  capabilities: number;
  /** What has been captured so far, best first. */
  kind: 'none' | 'plaintext' | 'mysql_native_password' | 'mysql_caching_sha2';
  plugin: string;
  secret: Buffer | null;
  salt: Buffer;
}

type State = 'first' | 'tls' | 'response' | 'switch' | 'sha2-more' | 'sha2-rsa' | 'done';

function serveConnection(ctx: ServiceContext, profile: ServerProfile, connectionId: number, rsaKey: ReturnType<typeof lazyRsaKey>, tlsContext: () => Promise<SecureContext>, raw: Socket, session: Session): void {
  const salt = makeSalt();
  const queue = new ByteQueue(MAX_PACKET + 4);
  let stream: Duplex = raw;
  let state: State = 'first';
  let tls = false;
  let attempt: Attempt | null = null;
  let recorded = false;
  let busy = false;

  const send = (buf: Buffer): void => {
    if (!stream.destroyed) stream.write(buf);
  };

  const record = (): void => {
    if (!attempt || recorded) return;
    recorded = true;
    const a = attempt;
    const attrs = a.attrs;
    session.record(
      'auth_attempt',
      {
        username: a.username,
        database: a.database || undefined,
        auth_method: a.kind === 'plaintext' ? 'password' : a.kind === 'none' ? 'none' : 'challenge',
        auth_plugin: a.plugin || undefined,
        secret_kind: a.kind,
        salt: a.kind === 'mysql_native_password' || a.kind === 'mysql_caching_sha2' ? a.salt.toString('hex') : undefined,
        hashcat: a.kind === 'mysql_native_password' && a.secret ? `$mysqlna$${a.salt.toString('hex')}*${a.secret.toString('hex')}` : undefined,
        client_name: attrs._client_name,
        client_version: attrs._client_version,
        client_os: attrs._os,
        client_platform: attrs._platform,
        program_name: attrs.program_name,
        client_attrs: Object.keys(attrs).length ? JSON.stringify(attrs).slice(0, 1024) : undefined,
        capabilities: '0x' + a.capabilities.toString(16),
        tls,
        success: false,
      },
      a.secret && a.secret.length ? { secret: a.secret } : undefined,
    );
  };

  const deny = (seq: number): void => {
    record();
    state = 'done';
    const usingPassword = attempt && (attempt.kind !== 'none' || (attempt.secret && attempt.secret.length > 0)) ? 'YES' : 'NO';
    const user = (attempt?.username ?? '').replace(/'/g, "\\'");
    stream.end(errPacket(seq, 1045, '28000', `Access denied for user '${user}'@'${session.peer.srcIp}' (using password: ${usingPassword})`));
  };

  const badHandshake = (seq: number): void => {
    state = 'done';
    record();
    stream.end(errPacket(seq, 1043, '08S01', 'Bad handshake'));
  };

  /** Applies what the client sent with a given plugin to the attempt; upgrades the captured secret. */
  const absorb = (plugin: string, data: Buffer): void => {
    const a = attempt!;
    if (plugin === NATIVE && data.length === 20 && a.kind !== 'plaintext') {
      a.kind = 'mysql_native_password';
      a.plugin = NATIVE;
      a.secret = Buffer.from(data);
    } else if (plugin === CACHING_SHA2 && data.length === 32 && a.kind === 'none') {
      a.kind = 'mysql_caching_sha2';
      a.plugin = CACHING_SHA2;
      a.secret = Buffer.from(data);
    } else if (data.length > 0 && a.kind === 'none') {
      a.plugin = plugin;
      a.secret = Buffer.from(data.subarray(0, MAX_SECRET));
    }
  };

  /** After the plugin's first data: either finish, or ask for the full caching_sha2 exchange. */
  const afterScramble = (plugin: string, data: Buffer, seq: number): void => {
    if (plugin === CACHING_SHA2 && data.length === 32) {
      // "perform_full_authentication": the client now sends the password itself.
      state = 'sha2-more';
      send(packet(seq, Buffer.from([0x01, 0x04])));
      return;
    }
    deny(seq);
  };

  const onPacket = async (seq: number, payload: Buffer): Promise<void> => {
    switch (state) {
      case 'first': {
        // SSLRequest: exactly 32 bytes with CLIENT_SSL, no user name.
        if (payload.length === 32 && profile.tls && payload.readUInt32LE(0) & CLIENT_SSL) {
          state = 'tls';
          stream.removeListener('data', onData);
          // The ClientHello may have arrived with the SSLRequest: hand those bytes back first.
          const early = queue.drain();
          if (early.length > 0) raw.unshift(early);
          const upgraded = await acceptTls(raw, { session, context: tlsContext, via: 'starttls', log: ctx.log });
          if (!upgraded) return;
          tls = true;
          stream = upgraded;
          stream.on('data', onData);
          stream.on('end', () => stream.end());
          state = 'response';
          return;
        }
        state = 'response';
        return onPacket(seq, payload);
      }
      case 'response': {
        let hr: HandshakeResponse;
        try {
          hr = parseHandshakeResponse(payload);
        } catch {
          badHandshake(seq + 1);
          return;
        }
        attempt = { username: hr.username, database: hr.database, attrs: hr.attrs, capabilities: hr.capabilities, kind: 'none', plugin: hr.plugin, secret: null, salt };
        const clientPlugin = hr.plugin || (hr.capabilities & CLIENT_SECURE_CONNECTION ? NATIVE : '');
        absorb(clientPlugin, hr.authResponse);
        if (hr.authResponse.length === 0) {
          deny(seq + 1);
          return;
        }
        if (clientPlugin !== profile.plugin && hr.capabilities & CLIENT_PLUGIN_AUTH) {
          // AuthSwitchRequest to our plugin, reusing the scramble.
          state = 'switch';
          send(packet(seq + 1, Buffer.concat([Buffer.from([0xfe]), Buffer.from(profile.plugin + '\0', 'latin1'), salt, Buffer.from([0])])));
          return;
        }
        afterScramble(clientPlugin, hr.authResponse, seq + 1);
        return;
      }
      case 'switch': {
        absorb(profile.plugin, payload);
        afterScramble(profile.plugin, payload, seq + 1);
        return;
      }
      case 'sha2-more': {
        if (payload.length === 1 && payload[0] === 0x02) {
          // Request for our RSA public key (no TLS): AuthMoreData with the PEM.
          let key: Awaited<ReturnType<typeof rsaKey>>;
          try {
            key = await rsaKey();
          } catch {
            deny(seq + 1);
            return;
          }
          state = 'sha2-rsa';
          send(packet(seq + 1, Buffer.concat([Buffer.from([0x01]), Buffer.from(key.publicPem, 'latin1')])));
          return;
        }
        if (tls || (payload.length > 0 && payload[payload.length - 1] === 0)) {
          // Cleartext password, NUL-terminated (over TLS, or a client configured to send it).
          const pw = payload[payload.length - 1] === 0 ? payload.subarray(0, -1) : payload;
          attempt!.kind = 'plaintext';
          attempt!.plugin = CACHING_SHA2;
          attempt!.secret = Buffer.from(pw.subarray(0, MAX_SECRET));
        }
        deny(seq + 1);
        return;
      }
      case 'sha2-rsa': {
        try {
          const { privateKey } = await rsaKey();
          const plain = privateDecrypt({ key: privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, payload);
          for (let i = 0; i < plain.length; i++) plain[i]! ^= salt[i % salt.length]!;
          const end = plain.indexOf(0);
          attempt!.kind = 'plaintext';
          attempt!.plugin = CACHING_SHA2;
          attempt!.secret = Buffer.from(end >= 0 ? plain.subarray(0, end) : plain);
        } catch {
          // Not decryptable with our key (a client using a pinned server key): keep the scramble.
        }
        deny(seq + 1);
        return;
      }
      default:
        return;
    }
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (state !== 'done' && state !== 'tls' && queue.length >= 4) {
        const head = queue.peek(4);
        const len = head.readUIntLE(0, 3);
        const seq = head[3]!;
        if (len > MAX_PACKET) {
          badHandshake(seq + 1);
          return;
        }
        if (queue.length < 4 + len) return;
        queue.take(4);
        await onPacket(seq, queue.take(len));
      }
    } catch (err) {
      ctx.log.debug('mysql session error', { err });
      stream.destroy();
    } finally {
      busy = false;
    }
  };

  const onData = (chunk: Buffer): void => {
    if (state === 'done') return;
    if (!queue.push(chunk)) {
      badHandshake(0);
      return;
    }
    void pump();
  };

  raw.on('data', onData);
  raw.on('end', () => raw.end());
  raw.on('close', record);
  raw.write(handshakePacket(profile, connectionId, salt));
}

const mysql: DecoyService = {
  name: 'mysql',
  summary: 'MySQL/MariaDB handshake, TLS and password capture',
  listens: [{ port: 3306, transport: 'tcp' }],
  personaKeys: {
    version: { summary: "server version string in the handshake (empty: the persona's packaged MySQL/MariaDB)", default: '' },
    auth_plugin: { summary: 'default authentication plugin (auto: by version)', default: 'auto', choices: ['auto', NATIVE, CACHING_SHA2] },
    ssl: { summary: 'advertise and accept TLS (SSLRequest)', default: 'on', choices: ['on', 'off'] },
  },
  create(ctx) {
    const profile = profileFor(ctx);
    const rsaKey = lazyRsaKey();
    const tlsContext = secureContextProvider(ctx);
    // Thread ids grow from a per-decky starting point, like a server that has been up a while.
    let nextId = new Seeded(ctx.decky.name, 'mysql', 'thread').int(20, 90_000);
    return {
      onConnection(socket, session) {
        nextId = (nextId + 1) >>> 0;
        serveConnection(ctx, profile, nextId, rsaKey, tlsContext, socket, session);
      },
    };
  },
};

export default mysql;
