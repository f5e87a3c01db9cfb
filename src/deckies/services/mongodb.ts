// MongoDB decoy: the wire protocol (OP_MSG, and OP_QUERY for the legacy handshake), a bounded BSON
// parser of our own, and the commands scanners and ransom bots run: hello/isMaster, buildInfo,
// serverStatus, listDatabases, listCollections, find, insert, drop, dropDatabase … over a small
// bait catalogue. Every command is recorded as `query` (name, db, collection, bounded JSON).
//
// Authentication: SCRAM-SHA-1/256 conversations run to the end, so the client's proof is captured
// with the salt, iterations and nonces (crackable offline; no password is recovered); PLAIN and the
// legacy `authenticate` command hand us what they carry. Every attempt fails with code 18.
// With persona key auth=enabled the instance refuses data commands until authenticated (code 13),
// like a hardened server; the default is the open instance bots look for.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { personaFacts, type PersonaFacts } from '../personas/facts.ts';
import { Binary, decodeDocument, Double, encodeDocument, Int64, ObjectId, toJson, type BsonDocument } from '../proto/bson.ts';
import { ByteQueue } from '../proto/byte-queue.ts';
import { Seeded } from '../proto/seed.ts';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_COMPRESSED = 2012;
const OP_MSG = 2013;
const MAX_MESSAGE = 1024 * 1024;
const QUERY_JSON = 1024;

interface Profile {
  version: string;
  versionArray: number[];
  maxWire: number;
  legacyOpQuery: boolean;
  authRequired: boolean;
  facts: PersonaFacts;
  gitVersion: string;
  processId: ObjectId;
  pid: number;
  startedAt: number;
  databases: { name: string; size: number; collections: Record<string, BsonDocument[]> }[];
  seed: string;
}

function maxWireVersion(v: number[]): number {
  const [major = 5, minor = 0] = v;
  const table: Record<string, number> = { '3.6': 6, '4.0': 7, '4.2': 8, '4.4': 9, '5.0': 13, '5.1': 14, '5.2': 15, '5.3': 16, '6.0': 17, '7.0': 21, '8.0': 25 };
  return table[`${major}.${minor}`] ?? (major >= 8 ? 25 : major >= 7 ? 21 : major >= 6 ? 17 : 13);
}

function baitDatabases(decky: string): Profile['databases'] {
  const s = new Seeded(decky, 'mongodb', 'bait');
  const oid = (): ObjectId => new ObjectId(s.bytes(12));
  const users = Array.from({ length: 4 }, (_, i) => ({
    _id: oid(),
    email: ['admin', 'ops', 'billing', 'jsmith'][i] + '@' + decky.toLowerCase().replace(/[^a-z0-9-]/g, '') + '.internal',
    password: `$2b$10$${s.base64id(40).slice(0, 53)}`,
    role: i === 0 ? 'admin' : 'user',
    createdAt: new Date(Date.now() - s.int(30, 900) * 86_400_000),
  }));
  const customers = Array.from({ length: 5 }, () => ({
    _id: oid(),
    name: s.pick(['Acme Logistics', 'Northwind Traders', 'Globex Corp', 'Initech', 'Umbrella Health', 'Stark Supplies']),
    contact: s.pick(['Dana Ruiz', 'Lee Park', 'Sam Okafor', 'Rita Jensen', 'Tom Alvarez']),
    plan: s.pick(['enterprise', 'pro', 'starter']),
    mrr: s.int(90, 4800),
  }));
  const config = [{ _id: oid(), key: 'stripe_secret', value: `sk_live_${s.base64id(18)}` }, { _id: oid(), key: 'smtp_password', value: s.base64id(12) }];
  return [
    { name: 'admin', size: 40960 + s.int(0, 8) * 4096, collections: { 'system.version': [] } },
    { name: 'config', size: 61440 + s.int(0, 8) * 4096, collections: { 'system.sessions': [] } },
    { name: 'local', size: 73728 + s.int(0, 8) * 4096, collections: { 'startup_log': [] } },
    { name: 'app_production', size: 2_400_000 + s.int(0, 900) * 4096, collections: { users, customers, config, sessions: [] } },
  ];
}

function ok(doc: BsonDocument = {}): BsonDocument {
  return { ...doc, ok: new Double(1) };
}

function failure(code: number, codeName: string, errmsg: string): BsonDocument {
  return { ok: new Double(0), errmsg, code, codeName };
}

function header(len: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(len, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

function opMsgReply(requestId: number, responseTo: number, doc: BsonDocument): Buffer {
  const body = Buffer.concat([Buffer.alloc(4), Buffer.from([0]), encodeDocument(doc)]);
  return Buffer.concat([header(16 + body.length, requestId, responseTo, OP_MSG), body]);
}

function opReply(requestId: number, responseTo: number, doc: BsonDocument): Buffer {
  const fixed = Buffer.alloc(20);
  fixed.writeInt32LE(0, 0); // responseFlags
  fixed.writeBigInt64LE(0n, 4); // cursorID
  fixed.writeInt32LE(0, 12); // startingFrom
  fixed.writeInt32LE(1, 16); // numberReturned
  const body = Buffer.concat([fixed, encodeDocument(doc)]);
  return Buffer.concat([header(16 + body.length, requestId, responseTo, OP_REPLY), body]);
}

/** Commands a client may run before authenticating on an auth-enabled server. */
const PRE_AUTH = new Set(['hello', 'ismaster', 'buildinfo', 'saslstart', 'saslcontinue', 'authenticate', 'getnonce', 'ping', 'whatsmyuri', 'logout', 'endsessions', 'connectionstatus', 'getlog', 'hostinfo']);

interface Conversation {
  mechanism: string;
  db: string;
  username: string;
  clientFirst: string;
  serverFirst: string;
}

function parseScramFirst(text: string): { username: string; nonce: string; bare: string } | null {
  const m = /^[nyp][^,]*,[^,]*,(.*)$/.exec(text);
  if (!m) return null;
  const bare = m[1]!;
  const attrs = new Map(bare.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
  const username = (attrs.get('n') ?? '').replace(/=2C/g, ',').replace(/=3D/g, '=');
  const nonce = attrs.get('r') ?? '';
  return nonce ? { username, nonce, bare } : null;
}

function serveConnection(ctx: ServiceContext, p: Profile, socket: Socket, session: Session, connectionId: number): void {
  const queue = new ByteQueue(MAX_MESSAGE);
  let replyId = (connectionId * 7919) & 0x7fffffff;
  let closed = false;
  let conversation: Conversation | null = null;
  let authRecorded = true;

  const recordAuth = (c: Conversation, secret: string | undefined, extra: Record<string, string | number | boolean | undefined> = {}): void => {
    authRecorded = true;
    session.record(
      'auth_attempt',
      { username: c.username.slice(0, 256), mechanism: c.mechanism, db: c.db, auth_method: c.mechanism, success: false, ...extra },
      secret ? { secret } : undefined,
    );
  };

  const saslStart = (cmd: BsonDocument, db: string): BsonDocument => {
    const mechanism = String(cmd.mechanism ?? '').slice(0, 32);
    const payload = cmd.payload instanceof Binary ? cmd.payload.data.toString('utf8') : typeof cmd.payload === 'string' ? cmd.payload : '';
    if (mechanism === 'PLAIN') {
      const parts = payload.split('\0');
      const username = parts.length >= 3 ? parts[1]! : (parts[0] ?? '');
      const password = parts.length >= 3 ? parts.slice(2).join('\0') : (parts[1] ?? '');
      recordAuth({ mechanism, db, username, clientFirst: '', serverFirst: '' }, password, { secret_kind: 'plaintext' });
      return failure(334, 'MechanismUnavailable', 'Received authentication for mechanism PLAIN which is not enabled');
    }
    if (mechanism !== 'SCRAM-SHA-1' && mechanism !== 'SCRAM-SHA-256') {
      recordAuth({ mechanism: mechanism || 'unknown', db, username: '', clientFirst: '', serverFirst: '' }, payload.slice(0, 1024) || undefined, { secret_kind: 'none' });
      return failure(334, 'MechanismUnavailable', `Received authentication for mechanism ${mechanism} which is not enabled`);
    }
    const first = parseScramFirst(payload);
    if (!first) {
      recordAuth({ mechanism, db, username: '', clientFirst: payload.slice(0, 512), serverFirst: '' }, undefined, { secret_kind: 'none' });
      return failure(17, 'ProtocolError', 'Incorrect number of arguments for first SCRAM client message, got 1 expected at least 3');
    }
    const sha256 = mechanism === 'SCRAM-SHA-256';
    // Unknown users still get a well-formed challenge (a stable per-user salt), so the exchange
    // reaches the proof, as mongod does to avoid revealing which users exist.
    const salt = new Seeded(p.seed, 'scram', mechanism, first.username).bytes(sha256 ? 28 : 16).toString('base64');
    const serverFirst = `r=${first.nonce}${randomBytes(24).toString('base64')},s=${salt},i=${sha256 ? 15000 : 10000}`;
    conversation = { mechanism, db, username: first.username, clientFirst: payload.slice(0, 1024), serverFirst };
    authRecorded = false;
    return ok({ conversationId: 1, done: false, payload: new Binary(Buffer.from(serverFirst, 'utf8')) });
  };

  const saslContinue = (cmd: BsonDocument): BsonDocument => {
    const c = conversation;
    if (!c) return failure(17, 'ProtocolError', 'No SASL session state found');
    conversation = null;
    const payload = cmd.payload instanceof Binary ? cmd.payload.data.toString('utf8').slice(0, 2048) : '';
    const proof = /(?:^|,)p=([^,]*)/.exec(payload)?.[1];
    recordAuth(c, `${c.clientFirst}\n${c.serverFirst}\n${payload}`, {
      secret_kind: c.mechanism === 'SCRAM-SHA-256' ? 'scram_sha256' : 'scram_sha1',
      password_recovered: false,
      scram_proof: proof,
    });
    return failure(18, 'AuthenticationFailed', 'Authentication failed.');
  };

  const helloReply = (cmd: BsonDocument, legacyName: boolean): BsonDocument => {
    const doc: BsonDocument = {
      ...(cmd.helloOk === true ? { helloOk: true } : {}),
      topologyVersion: { processId: p.processId, counter: new Int64(0) },
      ...(legacyName ? { ismaster: true } : { isWritablePrimary: true }),
      maxBsonObjectSize: 16777216,
      maxMessageSizeBytes: 48000000,
      maxWriteBatchSize: 100000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: p.maxWire,
      readOnly: false,
    };
    if (typeof cmd.saslSupportedMechs === 'string') doc.saslSupportedMechs = ['SCRAM-SHA-1', 'SCRAM-SHA-256'];
    return ok(doc);
  };

  const findDb = (name: string): Profile['databases'][number] | undefined => p.databases.find((d) => d.name === name);

  const cursor = (ns: string, batch: BsonDocument[], first = true): BsonDocument =>
    ok({ cursor: { [first ? 'firstBatch' : 'nextBatch']: batch, id: new Int64(0), ns } });

  const execute = (cmd: BsonDocument, db: string, legacy: boolean): BsonDocument => {
    const name = Object.keys(cmd)[0] ?? '';
    const lname = name.toLowerCase();
    const target = cmd[name];
    const collection = typeof target === 'string' ? target.slice(0, 128) : undefined;
    // Credentials travel in sasl payloads and `authenticate`; keep them out of the query log.
    const shown: BsonDocument = { ...cmd };
    for (const k of ['payload', 'key', 'pwd', 'password', 'speculativeAuthenticate']) if (k in shown) shown[k] = '<redacted>';
    session.record('query', { command: name.slice(0, 64), db: db.slice(0, 128), collection, query: toJson(shown, QUERY_JSON), legacy: legacy || undefined });

    if (legacy && !p.legacyOpQuery && lname !== 'ismaster' && lname !== 'hello') {
      return failure(352, 'UnsupportedOpQueryCommand', `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`);
    }
    if (p.authRequired && !PRE_AUTH.has(lname)) {
      return failure(13, 'Unauthorized', `command ${name} requires authentication`);
    }
    switch (lname) {
      case 'hello':
      case 'ismaster':
        return helloReply(cmd, lname === 'ismaster');
      case 'buildinfo':
        return ok({
          version: p.version,
          gitVersion: p.gitVersion,
          modules: [],
          allocator: 'tcmalloc',
          javascriptEngine: 'mozjs',
          sysInfo: 'deprecated',
          versionArray: p.versionArray,
          openssl: { running: p.facts.openssl || 'OpenSSL 3.0.2 15 Mar 2022', compiled: 'OpenSSL 3.0.2 15 Mar 2022' },
          buildEnvironment: { distmod: 'ubuntu2004', distarch: 'x86_64', cc: '/opt/mongodbtoolchain/v3/bin/gcc: gcc (GCC) 8.5.0', target_arch: 'x86_64', target_os: 'linux' },
          bits: 64,
          debug: false,
          maxBsonObjectSize: 16777216,
          storageEngines: ['devnull', 'ephemeralForTest', 'wiredTiger'],
        });
      case 'serverstatus': {
        const uptimeMs = Date.now() - p.startedAt;
        return ok({
          host: p.facts.shortHostname,
          version: p.version,
          process: 'mongod',
          pid: new Int64(p.pid),
          uptime: new Double(Math.floor(uptimeMs / 1000)),
          uptimeMillis: new Int64(uptimeMs),
          uptimeEstimate: new Int64(Math.floor(uptimeMs / 1000)),
          localTime: new Date(),
          connections: { current: 3 + (connectionId % 4), available: 51197, totalCreated: connectionId + 120, active: 1 },
          mem: { bits: 64, resident: 92, virtual: 1563, supported: true },
        });
      }
      case 'ping':
      case 'logout':
      case 'endsessions':
      case 'killcursors':
      case 'create':
      case 'createindexes':
        return ok();
      case 'whatsmyuri':
        return ok({ you: `${session.peer.srcIp}:${session.peer.srcPort}` });
      case 'getlog':
        return ok({ totalLinesWritten: 0, log: [] });
      case 'getcmdlineopts':
        return ok({ argv: ['/usr/bin/mongod', '--config', '/etc/mongod.conf'], parsed: { config: '/etc/mongod.conf', net: { bindIp: '0.0.0.0', port: 27017 }, processManagement: { timeZoneInfo: '/usr/share/zoneinfo' }, storage: { dbPath: '/var/lib/mongodb' }, systemLog: { destination: 'file', logAppend: true, path: '/var/log/mongodb/mongod.log' } } });
      case 'hostinfo':
        return ok({
          system: { currentTime: new Date(), hostname: p.facts.shortHostname, cpuAddrSize: 64, memSizeMB: new Int64(7949), numCores: 4, cpuArch: 'x86_64', numaEnabled: false },
          os: { type: 'Linux', name: p.facts.prettyName, version: `Kernel ${p.facts.kernelRelease}` },
          extra: { versionString: p.facts.unameA, libcVersion: '2.31', kernelVersion: p.facts.kernelRelease, pageSize: new Int64(4096), numPages: 2034944, maxOpenFiles: 64000 },
        });
      case 'connectionstatus':
        return ok({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] } });
      case 'getparameter':
        return ok({ featureCompatibilityVersion: { version: p.versionArray.slice(0, 2).join('.') } });
      case 'listdatabases': {
        const nameOnly = cmd.nameOnly === true;
        const dbs = p.databases.map((d) => (nameOnly ? { name: d.name } : { name: d.name, sizeOnDisk: new Int64(d.size), empty: false }));
        const total = p.databases.reduce((a, d) => a + d.size, 0);
        return ok(nameOnly ? { databases: dbs } : { databases: dbs, totalSize: new Int64(total), totalSizeMb: new Int64(Math.floor(total / 1048576)) });
      }
      case 'listcollections': {
        const d = findDb(db);
        const names = d ? Object.keys(d.collections) : [];
        const seed = new Seeded(p.seed, 'uuid', db);
        return cursor(`${db}.$cmd.listCollections`, names.map((n) => ({ name: n, type: 'collection', options: {}, info: { readOnly: false, uuid: new Binary(seed.bytes(16), 4) }, idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } })));
      }
      case 'listindexes':
        return cursor(`${db}.${collection}`, [{ v: 2, key: { _id: 1 }, name: '_id_' }]);
      case 'find': {
        const docs = findDb(db)?.collections[collection ?? ''] ?? [];
        const limit = typeof cmd.limit === 'number' && cmd.limit > 0 ? cmd.limit : 101;
        return cursor(`${db}.${collection}`, docs.slice(0, Math.min(limit, 101)));
      }
      case 'getmore':
        return cursor(`${db}.${String(cmd.collection ?? '')}`, [], false);
      case 'count':
        return ok({ n: findDb(db)?.collections[collection ?? '']?.length ?? 0 });
      case 'aggregate':
        return cursor(`${db}.${collection}`, []);
      case 'insert': {
        const docs = Array.isArray(cmd.documents) ? cmd.documents : [];
        return ok({ n: docs.length });
      }
      case 'update':
        return ok({ n: 0, nModified: 0 });
      case 'delete':
        return ok({ n: findDb(db)?.collections[collection ?? '']?.length ?? 0 });
      case 'drop':
        return findDb(db)?.collections[collection ?? ''] ? ok({ nIndexesWas: 1, ns: `${db}.${collection}` }) : failure(26, 'NamespaceNotFound', 'ns not found');
      case 'dropdatabase':
        return ok({ dropped: db });
      case 'dbstats': {
        const d = findDb(db);
        return ok({ db, collections: d ? Object.keys(d.collections).length : 0, views: 0, objects: 0, avgObjSize: 0, dataSize: new Double(d?.size ?? 0), storageSize: new Double(d?.size ?? 0), indexes: 1, indexSize: new Double(4096), scaleFactor: new Double(1) });
      }
      case 'saslstart':
        return saslStart(cmd, db);
      case 'saslcontinue':
        return saslContinue(cmd);
      case 'authenticate': {
        const mechanism = String(cmd.mechanism ?? 'MONGODB-CR').slice(0, 32);
        const user = String(cmd.user ?? '').slice(0, 256);
        const key = typeof cmd.key === 'string' ? cmd.key : undefined;
        recordAuth({ mechanism, db, username: user, clientFirst: '', serverFirst: '' }, key, { secret_kind: key ? 'mongodb_cr' : 'none', nonce: typeof cmd.nonce === 'string' ? cmd.nonce.slice(0, 64) : undefined });
        if (mechanism === 'MONGODB-X509') return failure(18, 'AuthenticationFailed', 'No verified subject name available from client');
        return failure(334, 'MechanismUnavailable', `Received authentication for mechanism ${mechanism} which is unknown or not enabled`);
      }
      default:
        return failure(59, 'CommandNotFound', `no such command: '${name.slice(0, 128)}'`);
    }
  };

  const onMessage = (requestId: number, opCode: number, body: Buffer): void => {
    if (opCode === OP_MSG) {
      const flags = body.readUInt32LE(0);
      let end = body.length;
      if (flags & 1) end -= 4; // checksum present
      let at = 4;
      let cmd: BsonDocument | null = null;
      const sequences: Record<string, BsonDocument[]> = {};
      while (at < end) {
        const kind = body[at++];
        if (kind === 0) {
          const { doc, end: next } = decodeDocument(body.subarray(0, end), at);
          cmd = doc;
          at = next;
        } else if (kind === 1) {
          const size = body.readInt32LE(at);
          if (size < 5 || at + size > end) throw new RangeError('bad document sequence');
          const seqEnd = at + size;
          const z = body.indexOf(0, at + 4);
          if (z < 0 || z >= seqEnd) throw new RangeError('bad sequence identifier');
          const ident = body.toString('utf8', at + 4, z).slice(0, 64);
          let pos = z + 1;
          const docs: BsonDocument[] = [];
          while (pos < seqEnd && docs.length < 1000) {
            const r = decodeDocument(body.subarray(0, seqEnd), pos);
            docs.push(r.doc);
            pos = r.end;
          }
          sequences[ident] = docs;
          at = seqEnd;
        } else throw new RangeError('unknown section kind');
      }
      if (!cmd) throw new RangeError('OP_MSG without a body');
      for (const [k, v] of Object.entries(sequences)) cmd[k] = v;
      const db = typeof cmd.$db === 'string' ? cmd.$db : 'admin';
      const reply = execute(cmd, db, false);
      socket.write(opMsgReply(++replyId, requestId, reply));
      return;
    }
    if (opCode === OP_QUERY) {
      const z = body.indexOf(0, 4);
      if (z < 0) throw new RangeError('bad collection name');
      const ns = body.toString('utf8', 4, z).slice(0, 256);
      const { doc } = decodeDocument(body, z + 9);
      const cmd = (doc.$query && typeof doc.$query === 'object' ? doc.$query : doc) as BsonDocument;
      const db = ns.endsWith('.$cmd') ? ns.slice(0, -5) : ns.split('.')[0]!;
      const reply = ns.endsWith('.$cmd') ? execute(cmd, db, true) : (session.record('query', { command: 'legacy_find', db, collection: ns, query: toJson(cmd, QUERY_JSON), legacy: true }), failure(352, 'UnsupportedOpQueryCommand', 'Unsupported OP_QUERY command'));
      socket.write(opReply(++replyId, requestId, reply));
      return;
    }
    // OP_COMPRESSED (never advertised), OP_INSERT and the other removed opcodes: the server drops the client.
    session.record('protocol_error', { error: opCode === OP_COMPRESSED ? 'compressed message not negotiated' : 'unsupported opcode', opcode: opCode });
    closed = true;
    socket.end();
  };

  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    if (!queue.push(chunk)) {
      closed = true;
      socket.destroy();
      return;
    }
    try {
      while (!closed && queue.length >= 16) {
        const head = queue.peek(16);
        const len = head.readInt32LE(0);
        if (len < 16 || len > MAX_MESSAGE) {
          session.record('protocol_error', { error: 'bad message length', length: len });
          closed = true;
          socket.destroy();
          return;
        }
        if (queue.length < len) return;
        const msg = queue.take(len);
        onMessage(msg.readInt32LE(4), msg.readInt32LE(12), msg.subarray(16));
      }
    } catch (err) {
      // Malformed BSON or framing: mongod logs an InvalidBSON error and drops the connection.
      session.record('protocol_error', { error: err instanceof Error ? err.message.slice(0, 128) : 'malformed message' });
      closed = true;
      socket.destroy();
    }
  });
  socket.on('end', () => socket.end());
  socket.on('close', () => {
    // A SCRAM conversation the client abandoned still names the account it tried.
    if (!authRecorded && conversation) recordAuth(conversation, conversation.clientFirst, { secret_kind: 'none', abandoned: true });
  });
}

const mongodb: DecoyService = {
  name: 'mongodb',
  summary: 'MongoDB wire protocol with an open bait catalogue and SCRAM capture',
  listens: [{ port: 27017, transport: 'tcp' }],
  personaKeys: {
    version: { summary: 'server version (buildInfo, serverStatus)', default: '5.0.26' },
    auth: { summary: 'disabled: the open instance bots look for; enabled: data commands need a login', default: 'disabled', choices: ['disabled', 'enabled'] },
  },
  create(ctx) {
    const facts = personaFacts(ctx.decky.persona);
    const versionArray = ctx.config.version.split('.').map((x) => Number(x) || 0);
    while (versionArray.length < 4) versionArray.push(0);
    const seed = new Seeded(ctx.decky.name, 'mongodb');
    const [major = 5, minor = 0] = versionArray;
    const profile: Profile = {
      version: ctx.config.version,
      versionArray,
      maxWire: maxWireVersion(versionArray),
      // OP_QUERY commands other than the handshake were removed in 5.1.
      legacyOpQuery: major < 5 || (major === 5 && minor === 0),
      authRequired: ctx.config.auth === 'enabled',
      facts,
      gitVersion: new Seeded('mongodb-release', ctx.config.version).hex(40),
      processId: new ObjectId(seed.bytes(12)),
      pid: seed.int(600, 9000),
      startedAt: facts.bootTime + seed.int(15, 200) * 1000,
      databases: baitDatabases(ctx.decky.name),
      seed: ctx.decky.name,
    };
    let connectionId = seed.int(5, 3000);
    return {
      onConnection(socket, session) {
        serveConnection(ctx, profile, socket, session, ++connectionId);
      },
    };
  },
};

export default mongodb;
