// Fuzz: random bytes and truncated or mutated protocol messages to every TCP service of one decky.
// The host must stay up, every service must still answer an honest client afterwards, and the
// heap after GC must come back within 10% of where it was after a warm-up round.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SERVICES } from '../../src/deckies/catalog.ts';
import type { DecoyService } from '../../src/deckies/service.ts';
import { startTestDecky, type TestDecky } from './harness.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

// Well-formed openings of many protocols: cut short and mutated, they reach deep into parsers.
const SEEDS: Buffer[] = [
  Buffer.from('GET /admin/login.php?user=admin HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\nContent-Length: 5\r\n\r\nhello'),
  Buffer.from('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'),
  Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n'),
  Buffer.from('SSH-2.0-OpenSSH_8.9\r\n\x00\x00\x01\x0c\x0a\x14', 'latin1'),
  Buffer.concat([u32(8), u32(80877103)]), // PostgreSQL SSLRequest
  Buffer.concat([u32(41), u32(196608), Buffer.from('user\0postgres\0database\0postgres\0\0')]),
  Buffer.from('USER anonymous\r\nPASS a@b\r\nPASV\r\nLIST\r\nRETR ../../etc/passwd\r\n'),
  Buffer.from('EHLO x\r\nAUTH PLAIN AGFkbWluAGFkbWlu\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nSubject: x\r\n\r\n.\r\n'),
  Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, ...new Array(32).fill(7), 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]),
  Buffer.from([0x10, 0x1a, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0xc2, 0x00, 0x3c, 0x00, 0x02, 0x69, 0x64, 0x00, 0x04, 0x75, 0x73, 0x65, 0x72, 0x00, 0x04, 0x70, 0x61, 0x73, 0x73]),
  Buffer.from([0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0a]), // Modbus read holding registers
  Buffer.from([0x12, 0x01, 0x00, 0x2f, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1a, 0x00, 0x06, 0x01, 0x00, 0x20, 0x00, 0x01, 0x02, 0x00, 0x21, 0x00, 0x01, 0x03, 0x00, 0x22, 0x00, 0x04, 0x04, 0x00, 0x26, 0x00, 0x01, 0xff, 0x0f, 0x00, 0x07, 0xd0, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), // TDS PRELOGIN
  Buffer.from('RFB 003.008\n\x01', 'latin1'),
  Buffer.from([0xff, 0xfd, 0x18, 0xff, 0xfb, 0x1f, 0xff, 0xfa, 0x1f, 0x00, 0x50, 0x00, 0x18, 0xff, 0xf0]), // telnet negotiation
  Buffer.from('a001 LOGIN admin secret\r\na002 SELECT INBOX\r\nUSER x\r\nPASS y\r\n'),
  Buffer.from([0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00]), // RDP X.224
];

function fuzzPayload(r: () => number): Buffer {
  const k = r();
  if (k < 0.3) {
    const b = Buffer.alloc(1 + Math.floor(r() * 4096));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    return b;
  }
  const seed = SEEDS[Math.floor(r() * SEEDS.length)];
  const cut = seed.subarray(0, 1 + Math.floor(r() * seed.length));
  if (k < 0.6) return cut;
  const b = Buffer.from(k < 0.8 ? seed : Buffer.concat([seed, seed, seed]));
  const flips = 1 + Math.floor(r() * 8);
  for (let i = 0; i < flips; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
  // Length fields set to extremes are the classic parser killers.
  if (r() < 0.3 && b.length > 4) b.writeUInt32BE(0xffffffff, Math.floor(r() * (b.length - 4)));
  return b;
}

function fuzzOne(ip: string, port: number, r: () => number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const done = () => {
      s.destroy();
      resolve();
    };
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => undefined);
    s.once('connect', () => {
      const chunks = 1 + Math.floor(r() * 3);
      for (let i = 0; i < chunks; i++) s.write(fuzzPayload(r));
      const ending = r();
      if (ending < 0.4) s.end();
      setTimeout(done, ending < 0.7 ? 5 : 60);
    });
  });
}

/** Sends `send` (if any) and resolves with the first reply bytes, or rejects. */
function exchange(ip: string, port: number, send: Buffer | undefined, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: ip, port }, () => {
      if (send) s.write(send);
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no reply from port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('data', (d) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`port ${port} closed without a reply`));
    });
  });
}

// What an honest client of each service sends first and what the reply must look like.
const HONEST: Record<string, { send?: Buffer; expect: RegExp | ((b: Buffer) => boolean) }> = {
  http: { send: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), expect: /^HTTP\/1\.[01] \d{3}/ },
  redis: { send: Buffer.from('PING\r\n'), expect: /^\+PONG|^-NOAUTH/ },
  postgres: { send: Buffer.concat([u32(8), u32(80877103)]), expect: (b) => b[0] === 0x4e || b[0] === 0x53 },
  mysql: { expect: (b) => b.length > 5 && b[4] === 0x0a },
  mqtt: { send: Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]), expect: (b) => b[0] === 0x20 },
  modbus: { send: Buffer.from([0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01]), expect: (b) => b[0] === 0x00 && b[1] === 0x07 },
  mssql: { send: SEEDS[11], expect: (b) => b[0] === 0x04 },
  vnc: { expect: /^RFB 00\d\.00\d\n/ },
  ssh: { expect: /^SSH-2\.0-/ },
  ftp: { expect: /^220[ -]/ },
  smtp: { expect: /^220[ -]/ },
  pop3: { expect: /^\+OK/ },
  imap: { expect: /^\* OK/ },
  telnet: { expect: () => true },
};

async function honestClientsAnswer(d: TestDecky, services: string[]): Promise<void> {
  for (const name of services) {
    const probe = HONEST[name];
    const port = d.port(name);
    if (!probe) {
      // No protocol-specific probe: the service must at least still accept connections.
      await new Promise<void>((resolve, reject) => {
        const s = connect({ host: d.ip, port }, () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      });
      continue;
    }
    const reply = await exchange(d.ip, port, probe.send);
    const ok = typeof probe.expect === 'function' ? probe.expect(reply) : probe.expect.test(reply.toString('latin1'));
    assert.ok(ok, `${name}: unexpected honest reply ${JSON.stringify(reply.subarray(0, 60).toString('latin1'))}`);
  }
}

test('fuzzing every TCP service leaves the host up, answering, and its heap where it was', { timeout: 120_000 }, async (t) => {
  const available: string[] = [];
  const missing: string[] = [];
  for (const entry of SERVICES) {
    try {
      const mod: DecoyService = await entry.load();
      if (mod.listens.some((l) => l.transport === 'tcp')) available.push(entry.name);
    } catch {
      missing.push(entry.name);
    }
  }
  if (missing.length > 0) t.diagnostic(`services not present yet, not fuzzed: ${missing.join(', ')}`);
  if (available.length === 0) {
    t.skip('no TCP decoy service exists yet');
    return;
  }
  const d = await startTestDecky({ services: available, limits: { idleTimeoutMs: 1500 } });
  try {
    const listeners = d.host.deckies()[0].listeners.filter((l) => l.transport === 'tcp');
    const r = rng(20240601);
    const round = async () => {
      for (const l of listeners) {
        for (let batch = 0; batch < 3; batch++) await Promise.all(Array.from({ length: 10 }, () => fuzzOne(d.ip, l.port, r)));
      }
    };
    const settle = async () => {
      const deadline = Date.now() + 10_000;
      while (d.host.stats().connections.active > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      await d.host.flush();
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((res) => setImmediate(res));
      }
      return process.memoryUsage().heapUsed;
    };

    await round(); // warm-up: modules, JIT, caches, first TLS certificate
    const baseline = await settle();
    for (let i = 0; i < 3; i++) await round();
    const after = await settle();
    assert.equal(d.host.stats().connections.active, 0, 'every fuzz connection was closed');

    await honestClientsAnswer(d, available);
    const stats = d.host.stats();
    t.diagnostic(`fuzzed ${available.join(', ')} (${listeners.length} ports, ${stats.connections.total} connections); service errors: ${Object.entries(stats.perService).filter(([, c]) => c.errors > 0).map(([n, c]) => `${n}=${c.errors}`).join(', ') || 'none'}`);
    t.diagnostic(`heap after GC: ${(baseline / 1048576).toFixed(1)} MB after warm-up, ${(after / 1048576).toFixed(1)} MB after 3 more rounds`);
    assert.ok(after <= baseline * 1.1, `heap grew from ${baseline} to ${after} bytes (more than 10%)`);
  } finally {
    await d.stop();
  }
});
