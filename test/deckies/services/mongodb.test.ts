// mongodb decoy against a raw wire-protocol client written here, with its own small BSON codec
// (independent of the decoy's), speaking OP_QUERY and OP_MSG and a full SCRAM-SHA-256 exchange.
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';

// ---- a minimal BSON codec for the client side --------------------------------------------------

type Val = string | number | boolean | null | Buffer | Val[] | { [k: string]: Val } | { $binary: Buffer };

function enc(doc: Record<string, Val>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(doc)) {
    const key = Buffer.from(k + '\0');
    if (typeof v === 'string') {
      const s = Buffer.from(v + '\0');
      const l = Buffer.alloc(4);
      l.writeInt32LE(s.length);
      parts.push(Buffer.from([2]), key, l, s);
    } else if (typeof v === 'number') {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v);
      parts.push(Buffer.from([0x10]), key, b);
    } else if (typeof v === 'boolean') parts.push(Buffer.from([8]), key, Buffer.from([v ? 1 : 0]));
    else if (v === null) parts.push(Buffer.from([0x0a]), key);
    else if (Buffer.isBuffer(v) || (typeof v === 'object' && '$binary' in v)) {
      const data = Buffer.isBuffer(v) ? v : (v as { $binary: Buffer }).$binary;
      const h = Buffer.alloc(5);
      h.writeInt32LE(data.length);
      parts.push(Buffer.from([5]), key, h, data);
    } else if (Array.isArray(v)) {
      parts.push(Buffer.from([4]), key, enc(Object.fromEntries(v.map((x, i) => [String(i), x]))));
    } else parts.push(Buffer.from([3]), key, enc(v as Record<string, Val>));
  }
  const body = Buffer.concat(parts);
  const l = Buffer.alloc(4);
  l.writeInt32LE(body.length + 5);
  return Buffer.concat([l, body, Buffer.from([0])]);
}

function dec(buf: Buffer, at = 0): Record<string, unknown> {
  const end = at + buf.readInt32LE(at);
  const out: Record<string, unknown> = {};
  let i = at + 4;
  while (i < end - 1) {
    const t = buf[i]!;
    const z = buf.indexOf(0, i + 1);
    const k = buf.toString('utf8', i + 1, z);
    i = z + 1;
    switch (t) {
      case 1: out[k] = buf.readDoubleLE(i); i += 8; break;
      case 2: { const l = buf.readInt32LE(i); out[k] = buf.toString('utf8', i + 4, i + 3 + l); i += 4 + l; break; }
      case 3: case 4: { const sub = dec(buf, i); out[k] = t === 4 ? Object.values(sub) : sub; i += buf.readInt32LE(i); break; }
      case 5: { const l = buf.readInt32LE(i); out[k] = buf.subarray(i + 5, i + 5 + l); i += 5 + l; break; }
      case 7: out[k] = buf.subarray(i, i + 12).toString('hex'); i += 12; break;
      case 8: out[k] = buf[i] === 1; i += 1; break;
      case 9: out[k] = new Date(Number(buf.readBigInt64LE(i))); i += 8; break;
      case 0x0a: out[k] = null; break;
      case 0x10: out[k] = buf.readInt32LE(i); i += 4; break;
      case 0x11: case 0x12: out[k] = buf.readBigInt64LE(i); i += 8; break;
      default: throw new Error(`client codec: type ${t}`);
    }
  }
  return out;
}

class MongoClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private reqId = 1;
  private closed = false;
  readonly socket: Socket;
  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  static open(d: TestDecky): Promise<MongoClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: d.ip, port: d.port('mongodb') }, () => resolve(new MongoClient(s)));
      s.once('error', reject);
    });
  }
  private async reply(): Promise<{ opCode: number; body: Buffer; raw: Buffer }> {
    const deadline = Date.now() + 3000;
    for (;;) {
      if (this.buf.length >= 16 && this.buf.length >= this.buf.readInt32LE(0)) {
        const len = this.buf.readInt32LE(0);
        const raw = this.buf.subarray(0, len);
        this.buf = this.buf.subarray(len);
        return { opCode: raw.readInt32LE(12), body: raw.subarray(16), raw };
      }
      if (this.closed) throw new Error('closed');
      if (Date.now() > deadline) throw new Error('timeout');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  async opQuery(ns: string, query: Record<string, Val>): Promise<{ doc: Record<string, unknown>; raw: Buffer }> {
    const body = Buffer.concat([Buffer.alloc(4), Buffer.from(ns + '\0'), Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), enc(query)]);
    this.send(2004, body);
    const r = await this.reply();
    assert.equal(r.opCode, 1, 'OP_REPLY');
    return { doc: dec(r.body, 20), raw: r.raw };
  }
  async command(doc: Record<string, Val>): Promise<Record<string, unknown>> {
    this.send(2013, Buffer.concat([Buffer.alloc(4), Buffer.from([0]), enc(doc)]));
    const r = await this.reply();
    assert.equal(r.opCode, 2013, 'OP_MSG reply');
    return dec(r.body, 5);
  }
  send(opCode: number, body: Buffer): void {
    const h = Buffer.alloc(16);
    h.writeInt32LE(16 + body.length, 0);
    h.writeInt32LE(this.reqId++, 4);
    h.writeInt32LE(opCode, 12);
    this.socket.write(Buffer.concat([h, body]));
  }
  close(): void {
    this.socket.destroy();
  }
}

describe('mongodb decoy', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['mongodb'] });
  });
  after(() => d.stop());

  it("answers nmap's OP_QUERY serverStatus probe with a version nmap recognises", async () => {
    const c = await MongoClient.open(d);
    const { doc, raw } = await c.opQuery('test.$cmd', { serverStatus: 1 });
    c.close();
    assert.equal(doc.ok, 1);
    assert.equal(doc.version, '5.0.26');
    assert.equal(doc.process, 'mongod');
    // nmap-service-probes: match mongodb m|^.*version.....([\.\d]+)|s
    assert.match(raw.toString('latin1'), /version[\s\S]{5}([.\d]+)/);
  });

  it('does the driver handshake and lists the bait catalogue over OP_MSG', async () => {
    const c = await MongoClient.open(d);
    const hello = await c.opQuery('admin.$cmd', { isMaster: 1, helloOk: true, client: { driver: { name: 'nodejs', version: '6.3.0' }, os: { type: 'Linux' } } });
    assert.equal(hello.doc.ismaster, true);
    assert.equal(hello.doc.maxWireVersion, 13);
    assert.equal(hello.doc.helloOk, true);
    const build = await c.command({ buildInfo: 1, $db: 'admin' });
    assert.equal(build.version, '5.0.26');
    assert.deepEqual(build.versionArray, [5, 0, 26, 0]);
    const dbs = await c.command({ listDatabases: 1, $db: 'admin' });
    const names = (dbs.databases as { name: string }[]).map((x) => x.name);
    assert.deepEqual(names, ['admin', 'config', 'local', 'app_production']);
    const colls = await c.command({ listCollections: 1, $db: 'app_production' });
    const batch = (colls.cursor as { firstBatch: { name: string }[] }).firstBatch.map((x) => x.name);
    assert.ok(batch.includes('users') && batch.includes('customers'));
    const found = await c.command({ find: 'users', filter: {}, $db: 'app_production' });
    const users = (found.cursor as { firstBatch: { email: string }[] }).firstBatch;
    assert.equal(users.length, 4);
    assert.match(users[0]!.email, /^admin@/);
    const unknown = await c.command({ frobnicate: 1, $db: 'admin' });
    assert.equal(unknown.ok, 0);
    assert.equal(unknown.code, 59);
    c.close();
    const q = await d.waitForEvent((e) => e.event === 'query' && e.fields.command === 'find');
    assert.equal(q.fields.db, 'app_production');
    assert.equal(q.fields.collection, 'users');
    assert.match(q.fields.query!, /"filter":\{\}/);
    const h = await d.waitForEvent((e) => e.event === 'query' && e.fields.command === 'isMaster');
    assert.equal(h.fields.legacy, 'true');
    assert.match(h.fields.query!, /nodejs/);
  });

  it('records a ransom run: dropDatabase and an inserted note', async () => {
    const c = await MongoClient.open(d);
    const dropped = await c.command({ dropDatabase: 1, $db: 'app_production' });
    assert.equal(dropped.ok, 1);
    const ins = await c.command({ insert: 'README', documents: [{ content: 'All your data is backed up. Send 0.01 BTC to bc1qexample' }], $db: 'READ__ME_TO_RECOVER_YOUR_DATA' });
    assert.equal(ins.n, 1);
    c.close();
    const e = await d.waitForEvent((e) => e.event === 'query' && e.fields.command === 'insert');
    assert.equal(e.fields.db, 'READ__ME_TO_RECOVER_YOUR_DATA');
    assert.match(e.fields.query!, /Send 0\.01 BTC/);
    await d.waitForEvent((e) => e.event === 'query' && e.fields.command === 'dropDatabase' && e.fields.db === 'app_production');
  });

  it('runs SCRAM-SHA-256 to the proof and records a transcript that verifies against the password', async () => {
    const c = await MongoClient.open(d);
    const nonce = randomBytes(18).toString('base64');
    const clientFirstBare = `n=backup_admin,r=${nonce}`;
    const start = await c.command({ saslStart: 1, mechanism: 'SCRAM-SHA-256', payload: { $binary: Buffer.from('n,,' + clientFirstBare) }, autoAuthorize: 1, $db: 'admin' });
    assert.equal(start.ok, 1);
    assert.equal(start.done, false);
    const serverFirst = (start.payload as Buffer).toString();
    const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0]!, kv.slice(2)]));
    assert.ok(attrs.get('r')!.startsWith(nonce));
    const iterations = Number(attrs.get('i'));
    assert.equal(iterations, 15000);
    const salted = pbkdf2Sync('Tr0ub4dor&3', Buffer.from(attrs.get('s')!, 'base64'), iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = createHash('sha256').update(clientKey).digest();
    const finalNoProof = `c=biws,r=${attrs.get('r')}`;
    const authMessage = `${clientFirstBare},${serverFirst},${finalNoProof}`;
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!)).toString('base64');
    const cont = await c.command({ saslContinue: 1, conversationId: 1, payload: { $binary: Buffer.from(`${finalNoProof},p=${proof}`) }, $db: 'admin' });
    assert.equal(cont.ok, 0);
    assert.equal(cont.code, 18);
    assert.equal(cont.errmsg, 'Authentication failed.');
    c.close();
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'backup_admin');
    assert.equal(e.fields.mechanism, 'SCRAM-SHA-256');
    assert.equal(e.fields.secret_kind, 'scram_sha256');
    assert.equal(e.fields.password_recovered, 'false');
    assert.equal(e.fields.scram_proof, proof);
    // The transcript alone lets an offline check confirm the password.
    const [cf, sf, cfinal] = e.secret!.toString().split('\n') as [string, string, string];
    const sAttrs = new Map(sf.split(',').map((kv) => [kv[0]!, kv.slice(2)]));
    const salted2 = pbkdf2Sync('Tr0ub4dor&3', Buffer.from(sAttrs.get('s')!, 'base64'), Number(sAttrs.get('i')), 32, 'sha256');
    const ck = createHmac('sha256', salted2).update('Client Key').digest();
    const sk = createHash('sha256').update(ck).digest();
    const am = `${cf.slice(3)},${sf},${cfinal.replace(/,p=.*$/, '')}`;
    const sig = createHmac('sha256', sk).update(am).digest();
    assert.equal(Buffer.from(ck.map((b, i) => b ^ sig[i]!)).toString('base64'), /p=(.*)$/.exec(cfinal)![1]);
    // The query log never carries the SASL payloads.
    const q = await d.waitForEvent((e) => e.event === 'query' && e.fields.command === 'saslContinue');
    assert.doesNotMatch(q.fields.query!, /p=/);
  });

  it('captures PLAIN credentials and answers like a community server', async () => {
    const c = await MongoClient.open(d);
    const r = await c.command({ saslStart: 1, mechanism: 'PLAIN', payload: { $binary: Buffer.from('\0svc_etl\0etl-Pa55') }, $db: '$external' });
    assert.equal(r.ok, 0);
    assert.equal(r.code, 334);
    c.close();
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'svc_etl');
    assert.equal(e.secret?.toString(), 'etl-Pa55');
    assert.equal(e.fields.db, '$external');
  });

  it('refuses data commands when the persona requires authentication', async () => {
    const locked = await startTestDecky({ services: [{ name: 'mongodb', config: { auth: 'enabled', version: '7.0.12' } }] });
    try {
      const c = await MongoClient.open(locked);
      const r = await c.command({ listDatabases: 1, $db: 'admin' });
      assert.equal(r.code, 13);
      assert.equal(r.errmsg, 'command listDatabases requires authentication');
      const legacy = await c.opQuery('admin.$cmd', { serverStatus: 1 });
      assert.equal(legacy.doc.code, 352, 'OP_QUERY commands are gone after 5.0');
      const hello = await c.command({ hello: 1, $db: 'admin' });
      assert.equal(hello.maxWireVersion, 21);
      assert.equal(hello.isWritablePrimary, true);
      c.close();
    } finally {
      await locked.stop();
    }
  });

  it('survives garbage and truncated messages, then serves the next client', async () => {
    const junk = [
      randomBytes(64),
      Buffer.from([0x30, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0x07, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]),
      (() => {
        // OP_MSG whose BSON claims more bytes than the message holds.
        const body = Buffer.from([0, 0, 0, 0, 0, 0xff, 0, 0, 0, 0x10, 0x61, 0, 1, 0, 0, 0, 0]);
        const h = Buffer.alloc(16);
        h.writeInt32LE(16 + body.length);
        h.writeInt32LE(2013, 12);
        return Buffer.concat([h, body]);
      })(),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    ];
    for (const j of junk) {
      const s = connect({ host: d.ip, port: d.port('mongodb') });
      s.on('error', () => undefined);
      s.end(j);
      await new Promise<void>((r) => s.once('close', () => r()));
    }
    const c = await MongoClient.open(d);
    const r = await c.command({ ping: 1, $db: 'admin' });
    assert.equal(r.ok, 1);
    c.close();
  });
});
