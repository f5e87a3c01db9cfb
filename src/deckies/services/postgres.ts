// PostgreSQL decoy: SSLRequest (TLS with the decky's certificate, or 'N'), GSSENCRequest 'N',
// StartupMessage, then one of the three password exchanges, ending in FATAL 28P01 as a real
// server answers a wrong password. Error fields (file, line, routine) follow the persona's major
// version, because nmap's probes tell PostgreSQL versions apart by them.
//
// Captured: cleartext → the password; md5 → the salted hash and salt (hashcat -m 11100 string in
// `hashcat`); scram-sha-256 → the whole exchange (salt, iterations, nonces, proof), crackable
// offline but not a password: `password_recovered` says so.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts } from '../personas/facts.ts';
import { ByteQueue } from '../proto/byte-queue.ts';
import { Seeded } from '../proto/seed.ts';
import { acceptTls, secureContextProvider } from '../tls-server.ts';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const MAX_STARTUP = 10_000; // the server's own limit (MAX_STARTUP_PACKET_LENGTH)
const MAX_MESSAGE = 64 * 1024;
const MAX_PARAMS = 64;
const SCRAM_ITERATIONS = 4096;

type AuthMethod = 'cleartext' | 'md5' | 'scram-sha-256';

/** (file, line) of the errors we raise, per major version, as the real sources have them. */
interface SourceRefs {
  startupFile: string;
  badProtocolLine: number;
  badLengthLine: number;
  noUserLine: number;
  authFailedLine: number;
  expectedPasswordLine: number;
  earliest: string;
}

function sourceRefs(major: number): SourceRefs {
  const table: Record<number, [number, number, number, number, number]> = {
    // major: [unsupported protocol, invalid length, no user, auth failed, expected password]
    12: [2095, 1995, 2181, 333, 686],
    13: [2133, 2020, 2219, 326, 656],
    14: [2138, 2045, 2224, 335, 662],
    15: [2194, 2096, 2280, 326, 665],
    16: [2173, 2075, 2259, 323, 655],
  };
  const t = table[major] ?? table[15]!;
  return {
    startupFile: 'postmaster.c',
    badProtocolLine: t[0],
    badLengthLine: t[1],
    noUserLine: t[2],
    authFailedLine: t[3],
    expectedPasswordLine: t[4],
    earliest: major >= 14 ? '3.0' : '1.0',
  };
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function authMessage(code: number, extra: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(code, 0);
  return message('R', Buffer.concat([b, extra]));
}

function errorResponse(fields: { code: string; message: string; file: string; line: number; routine: string }): Buffer {
  const parts: string[] = ['SFATAL', 'VFATAL', `C${fields.code}`, `M${fields.message}`, `F${fields.file}`, `L${fields.line}`, `R${fields.routine}`];
  return message('E', Buffer.concat([...parts.map((p) => Buffer.from(p + '\0', 'utf8')), Buffer.from([0])]));
}

/** Parses "k=v,k=v" SCRAM attributes (values may contain '='). */
function scramAttributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

function serveConnection(ctx: ServiceContext, opts: { method: AuthMethod; tls: boolean; refs: SourceRefs; tlsContext: () => Promise<SecureContext> }, raw: Socket, session: Session): void {
  const queue = new ByteQueue(MAX_MESSAGE + 5);
  let stream: Duplex = raw;
  let phase: 'startup' | 'upgrading' | 'password' | 'sasl-continue' | 'done' = 'startup';
  let tls = false;
  let user = '';
  let database = '';
  let application = '';
  let busy = false;
  let salt = Buffer.alloc(0);
  let scram: { clientFirst: string; serverFirst: string; clientNonce: string; mechanism: string } | null = null;
  const refs = opts.refs;

  const fatal = (code: string, text: string, line: number, routine: string, file = refs.startupFile): void => {
    phase = 'done';
    stream.end(errorResponse({ code, message: text, file, line, routine }));
  };

  const authFailed = (): void => fatal('28P01', `password authentication failed for user "${user}"`, refs.authFailedLine, 'auth_failed', 'auth.c');

  const onStartup = async (payload: Buffer): Promise<void> => {
    const code = payload.readUInt32BE(0);
    if (code === SSL_REQUEST) {
      if (!opts.tls || tls) {
        stream.write('N');
        return;
      }
      phase = 'upgrading';
      stream.removeListener('data', onData);
      raw.write('S');
      const early = queue.drain();
      if (early.length > 0) raw.unshift(early);
      const upgraded = await acceptTls(raw, { session, context: opts.tlsContext, via: 'starttls', log: ctx.log });
      if (!upgraded) return;
      tls = true;
      stream = upgraded;
      stream.on('data', onData);
      stream.on('end', () => stream.end());
      phase = 'startup';
      return;
    }
    if (code === GSSENC_REQUEST) {
      stream.write('N');
      return;
    }
    if (code === CANCEL_REQUEST) {
      session.record('cancel', { backend_pid: payload.length >= 8 ? payload.readUInt32BE(4) : undefined });
      phase = 'done';
      stream.end();
      return;
    }
    const major = code >>> 16;
    const minor = code & 0xffff;
    if (major !== 3) {
      fatal('0A000', `unsupported frontend protocol ${major}.${minor}: server supports ${refs.earliest} to 3.0`, refs.badProtocolLine, 'ProcessStartupPacket');
      return;
    }
    const params: Record<string, string> = {};
    const fields = payload.subarray(4).toString('utf8').split('\0');
    let count = 0;
    for (let i = 0; i + 1 < fields.length && count < MAX_PARAMS; i += 2) {
      const k = fields[i]!;
      if (k === '') break;
      params[k.slice(0, 64)] = fields[i + 1]!.slice(0, 256);
      count++;
    }
    user = params.user ?? '';
    database = params.database ?? user;
    application = params.application_name ?? '';
    session.record('startup', {
      username: user,
      database,
      application_name: application || undefined,
      client_encoding: params.client_encoding,
      protocol: `${major}.${minor}`,
      params: JSON.stringify(params).slice(0, 1024),
      tls,
    });
    if (!user) {
      fatal('28000', 'no PostgreSQL user name specified in startup packet', refs.noUserLine, 'ProcessStartupPacket');
      return;
    }
    if (minor > 0) {
      // Newer minor protocol than ours: say which one we speak, as the server does.
      const body = Buffer.alloc(8);
      body.writeUInt32BE(0, 0);
      body.writeUInt32BE(0, 4);
      stream.write(message('v', body));
    }
    phase = 'password';
    if (opts.method === 'cleartext') stream.write(authMessage(3));
    else if (opts.method === 'md5') {
      salt = randomBytes(4);
      stream.write(authMessage(5, salt));
    } else stream.write(authMessage(10, Buffer.from('SCRAM-SHA-256\0\0', 'latin1')));
  };

  const onTyped = (type: string, payload: Buffer): void => {
    if (type !== 'p') {
      fatal('08P01', `expected password response, got message type ${type.charCodeAt(0)}`, refs.expectedPasswordLine, 'recv_password_packet', 'auth.c');
      return;
    }
    if (phase === 'password' && opts.method !== 'scram-sha-256') {
      const end = payload.indexOf(0);
      const value = payload.subarray(0, Math.min(end >= 0 ? end : payload.length, 1024));
      if (opts.method === 'cleartext') {
        session.record('auth_attempt', { username: user, database, application_name: application || undefined, auth_method: 'cleartext', secret_kind: 'plaintext', tls, success: false }, { secret: Buffer.from(value) });
      } else {
        const text = value.toString('latin1');
        const hash = /^md5[0-9a-f]{32}$/.test(text) ? text.slice(3) : '';
        session.record(
          'auth_attempt',
          {
            username: user,
            database,
            application_name: application || undefined,
            auth_method: 'md5',
            secret_kind: 'postgres_md5_challenge',
            salt: salt.toString('hex'),
            hashcat: hash ? `$postgres$${user}*${salt.toString('hex')}*${hash}` : undefined,
            tls,
            success: false,
          },
          { secret: Buffer.from(value) },
        );
      }
      authFailed();
      return;
    }
    if (phase === 'password') {
      // SASLInitialResponse: mechanism, int32 length, client-first-message.
      const end = payload.indexOf(0);
      const mechanism = end >= 0 ? payload.subarray(0, end).toString('latin1') : '';
      if (end < 0 || payload.length < end + 5) {
        fatal('08P01', 'malformed SASL message', 1018, 'CheckSASLAuth', 'auth-sasl.c');
        return;
      }
      const len = payload.readInt32BE(end + 1);
      const clientFirst = payload.subarray(end + 5, len >= 0 ? end + 5 + len : payload.length).toString('utf8');
      const bareAt = clientFirst.indexOf(',', clientFirst.indexOf(',') + 1);
      const bare = bareAt >= 0 ? clientFirst.slice(bareAt + 1) : '';
      const clientNonce = scramAttributes(bare).get('r') ?? '';
      if (mechanism !== 'SCRAM-SHA-256' || !clientNonce || !/^[nyp]/.test(clientFirst)) {
        session.record('auth_attempt', { username: user, database, auth_method: mechanism.slice(0, 32) || 'sasl', secret_kind: 'scram_unknown', password_recovered: false, tls, success: false }, { secret: Buffer.from(clientFirst.slice(0, 1024)) });
        fatal('08P01', 'malformed SCRAM message', 863, 'read_client_first_message', 'auth-scram.c');
        return;
      }
      // A stable per-user salt, as the server's mock authentication for unknown roles has.
      const userSalt = new Seeded(ctx.decky.name, 'postgres', 'salt', user).bytes(16).toString('base64');
      const serverFirst = `r=${clientNonce}${randomBytes(18).toString('base64')},s=${userSalt},i=${SCRAM_ITERATIONS}`;
      scram = { clientFirst, serverFirst, clientNonce, mechanism };
      phase = 'sasl-continue';
      stream.write(authMessage(11, Buffer.from(serverFirst, 'utf8')));
      return;
    }
    // SASLResponse: client-final-message.
    const clientFinal = payload.toString('utf8').slice(0, 2048);
    const s = scram!;
    const proof = scramAttributes(clientFinal).get('p');
    const transcript = `${s.clientFirst}\n${s.serverFirst}\n${clientFinal}`;
    session.record(
      'auth_attempt',
      {
        username: user,
        database,
        application_name: application || undefined,
        auth_method: 'scram-sha-256',
        secret_kind: 'scram_sha256',
        password_recovered: false,
        scram_salt: scramAttributes(s.serverFirst).get('s'),
        scram_iterations: SCRAM_ITERATIONS,
        scram_proof: proof,
        tls,
        success: false,
      },
      { secret: Buffer.from(transcript, 'utf8') },
    );
    authFailed();
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (phase === 'startup' || phase === 'password' || phase === 'sasl-continue') {
        if (phase === 'startup') {
          if (queue.length < 4) return;
          const len = queue.peek(4).readUInt32BE(0);
          if (len < 8 || len > MAX_STARTUP) {
            fatal('08P01', 'invalid length of startup packet', refs.badLengthLine, 'ProcessStartupPacket');
            return;
          }
          if (queue.length < len) return;
          const payload = queue.take(len).subarray(4);
          await onStartup(payload);
          continue;
        }
        if (queue.length < 5) return;
        const head = queue.peek(5);
        const len = head.readUInt32BE(1);
        if (len < 4 || len > MAX_MESSAGE) {
          fatal('08P01', 'invalid message length', 1541, 'pq_getmessage', 'pqcomm.c');
          return;
        }
        if (queue.length < len + 1) return;
        const msg = queue.take(len + 1);
        onTyped(String.fromCharCode(msg[0]!), msg.subarray(5));
      }
    } catch (err) {
      ctx.log.debug('postgres session error', { err });
      stream.destroy();
    } finally {
      busy = false;
    }
  };

  const onData = (chunk: Buffer): void => {
    if (phase === 'done' || phase === 'upgrading') return;
    if (!queue.push(chunk)) {
      fatal('08P01', 'invalid message length', 1541, 'pq_getmessage', 'pqcomm.c');
      return;
    }
    void pump();
  };

  raw.on('data', onData);
  raw.on('end', () => raw.end());
}

const postgres: DecoyService = {
  name: 'postgres',
  summary: 'PostgreSQL startup, TLS and password capture',
  listens: [{ port: 5432, transport: 'tcp' }],
  personaKeys: {
    auth: { summary: 'password exchange requested from clients', default: 'cleartext', choices: ['cleartext', 'md5', 'scram-sha-256'] },
    ssl: { summary: 'answer SSLRequest with TLS (on) or refuse it (off)', default: 'on', choices: ['on', 'off'] },
    version: { summary: "server version (empty: the persona's packaged PostgreSQL)", default: '' },
  },
  create(ctx) {
    const major = Number((ctx.config.version || personaFacts(ctx.decky.persona).postgres).split('.')[0]) || 15;
    const opts = { method: ctx.config.auth as AuthMethod, tls: ctx.config.ssl !== 'off', refs: sourceRefs(major), tlsContext: secureContextProvider(ctx) };
    return {
      onConnection(socket, session) {
        serveConnection(ctx, opts, socket, session);
      },
    };
  },
};

export default postgres;

