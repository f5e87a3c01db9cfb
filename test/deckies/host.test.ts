// The decoy host itself, driven with raw sockets against the test-only `echo` and `tlsecho` services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshLoopbackIp, startTestDecky } from './harness.ts';
import { startDecoyHost } from '../../src/deckies/host.ts';
import type { DeckyPlan } from '../../src/deckies/plan.ts';
import type { DecoyService } from '../../src/deckies/service.ts';
import { parseEventLine } from '../../src/pipeline/rfc5424.ts';

interface Client {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  closed: Promise<void>;
}

function client(ip: string, port: number, localAddress?: string): Client {
  const socket = connect({ host: ip, port, localAddress });
  let data = '';
  const waiters = new Set<() => void>();
  socket.on('data', (d) => {
    data += d.toString('latin1');
    for (const w of waiters) w();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    received: () => data,
    closed,
    waitFor(text, timeoutMs = 3000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (data.includes(text)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`did not receive ${JSON.stringify(text)}; got ${JSON.stringify(data)}`));
        }, timeoutMs);
        waiters.add(check);
        socket.once('close', () => {
          if (!data.includes(text)) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`closed before ${JSON.stringify(text)}; got ${JSON.stringify(data)}`));
          }
        });
        check();
      });
    },
  };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

test('records connect, service events and disconnect with duration and byte counts', async () => {
  const d = await startTestDecky({ services: ['echo'], persona: { hostname: 'SRV-ECHO-42' } });
  try {
    const c = client(d.ip, d.port('echo'));
    await c.waitFor('hello from SRV-ECHO-42\n');
    c.socket.write('ls -la\nlogin root s3cr3t\n');
    await c.waitFor('denied\n');
    c.socket.end();
    const disc = await d.waitForEvent((e) => e.event === 'disconnect');
    const events = await d.events();
    assert.deepEqual(events.map((e) => e.event), ['connect', 'command', 'auth_attempt', 'disconnect']);
    const [conn, cmd, auth] = events;
    assert.equal(conn.decky, d.name);
    assert.equal(conn.dst_ip, d.ip);
    assert.equal(conn.dst_port, d.port('echo'));
    assert.equal(conn.src_ip, '127.0.0.1');
    assert.equal(cmd.fields.cmd, 'ls -la');
    assert.equal(auth.fields.username, 'root');
    assert.equal(auth.secret?.toString(), 's3cr3t');
    assert.equal(disc.src_port, conn.src_port);
    assert.equal(disc.fields.reason, 'closed');
    assert.equal(Number(disc.fields.bytes_in), 'ls -la\nlogin root s3cr3t\n'.length);
    assert.equal(Number(disc.fields.bytes_out), c.received().length);
    assert.ok(Number(disc.fields.duration_ms) >= 0);
    const stats = d.host.stats();
    assert.equal(stats.perService.echo.connections, 1);
    assert.equal(stats.connections.active, 0);
  } finally {
    await d.stop();
  }
});

test('attacker text with CR, LF, quotes and brackets stays inside one event line', async () => {
  const d = await startTestDecky({ services: ['echo'] });
  try {
    const c = client(d.ip, d.port('echo'));
    await c.waitFor('hello');
    const evil = 'x"] \r<13>1 2026-01-01T00:00:00Z evil echo - connect [relay@55555 decky="evil"]\\';
    c.socket.write(`${evil}\n`);
    await c.waitFor('evil"]\\\n');
    c.socket.end();
    await d.waitForEvent((e) => e.event === 'disconnect');
    const lines = readFileSync(d.eventLogPath, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3, 'connect, command, disconnect: nothing injected');
    const cmd = parseEventLine(lines[1]);
    assert.equal(cmd.decky, d.name);
    assert.equal(cmd.fields.cmd, evil);
  } finally {
    await d.stop();
  }
});

test('per-source connection cap refuses the extra connection and admits again after one closes', async () => {
  const d = await startTestDecky({ services: ['echo'], limits: { maxConnectionsPerSource: 3 } });
  try {
    const port = d.port('echo');
    const held = [client(d.ip, port, '127.0.0.2'), client(d.ip, port, '127.0.0.2'), client(d.ip, port, '127.0.0.2')];
    await Promise.all(held.map((c) => c.waitFor('hello')));
    const extra = client(d.ip, port, '127.0.0.2');
    await within(extra.closed, 3000, 'the refused connection to close');
    assert.equal(extra.received(), '', 'a refused connection gets no greeting');
    // Another source is not affected.
    const other = client(d.ip, port, '127.0.0.3');
    await other.waitFor('hello');
    const reject = await d.waitForEvent((e) => e.event === 'reject');
    assert.equal(reject.src_ip, '127.0.0.2');
    assert.equal(reject.fields.reason, 'source');
    held[0].socket.end();
    await held[0].closed;
    await d.waitForEvent((e) => e.event === 'disconnect' && e.src_ip === '127.0.0.2');
    const again = client(d.ip, port, '127.0.0.2');
    await again.waitFor('hello');
    assert.equal(d.host.stats().drops.connSource, 1);
    for (const c of [...held, other, again]) c.socket.destroy();
  } finally {
    await d.stop();
  }
});

test('idle connections are closed; active ones are not', async () => {
  const d = await startTestDecky({ services: ['echo'], limits: { idleTimeoutMs: 400 } });
  try {
    const idle = client(d.ip, d.port('echo'));
    const busy = client(d.ip, d.port('echo'));
    await Promise.all([idle.waitFor('hello'), busy.waitFor('hello')]);
    const idlePort = idle.socket.localPort;
    const started = Date.now();
    const ticker = setInterval(() => busy.socket.write('ping\n'), 100);
    await within(idle.closed, 3000, 'the idle connection to close');
    const idleFor = Date.now() - started;
    assert.ok(idleFor >= 350, `closed after ${idleFor} ms, before the idle timeout`);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(busy.socket.destroyed, false, 'a connection with traffic stays open');
    clearInterval(ticker);
    const e = await d.waitForEvent((e) => e.event === 'disconnect' && e.fields.reason === 'idle');
    assert.equal(e.src_port, idlePort);
    busy.socket.destroy();
  } finally {
    await d.stop();
  }
});

test('a connection sending more than the byte cap is destroyed', async () => {
  const d = await startTestDecky({ services: ['echo'], limits: { maxBytesPerConnection: 64 * 1024 } });
  try {
    const c = client(d.ip, d.port('echo'));
    await c.waitFor('hello');
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    const pump = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write(chunk);
    }, 5);
    await within(c.closed, 5000, 'the connection over the byte cap to close');
    clearInterval(pump);
    const e = await d.waitForEvent((e) => e.event === 'disconnect');
    assert.equal(e.fields.reason, 'byte_cap');
    assert.ok(Number(e.fields.bytes_in) > 64 * 1024);
    assert.equal(d.host.stats().drops.byteCap, 1);
  } finally {
    await d.stop();
  }
});

test('a service that throws on attacker input loses that connection only', async () => {
  const d = await startTestDecky({ services: ['echo'] });
  try {
    const bad = client(d.ip, d.port('echo'));
    await bad.waitFor('hello');
    const badPort = bad.socket.localPort;
    bad.socket.write('boom\n');
    await within(bad.closed, 3000, 'the connection that broke the service to close');
    const good = client(d.ip, d.port('echo'));
    await good.waitFor('hello');
    good.socket.write('still here\n');
    await good.waitFor('still here\n');
    good.socket.end();
    const e = await d.waitForEvent((e) => e.event === 'disconnect' && e.fields.reason === 'service_error');
    assert.equal(e.src_port, badPort);
    assert.equal(d.host.stats().perService.echo.errors, 1);
  } finally {
    await d.stop();
  }
});

test('UDP: datagrams reach the service; oversized ones and floods are dropped', async () => {
  const d = await startTestDecky({ services: ['echo'], limits: { maxDatagramBytes: 512, udpRatePerSource: 1, udpBurstPerSource: 5 } });
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((r) => sock.bind(0, '127.0.0.4', () => r()));
    const replies: string[] = [];
    sock.on('message', (m) => replies.push(m.toString()));
    const port = d.port('echo', 1);
    sock.send(Buffer.alloc(1000, 0x42), port, d.ip);
    sock.send('first', port, d.ip);
    const e = await d.waitForEvent((e) => e.event === 'payload');
    assert.equal(e.fields.text, 'first');
    assert.equal(e.src_ip, '127.0.0.4');
    for (let i = 0; i < 20; i++) sock.send(`n${i}`, port, d.ip);
    const deadline = Date.now() + 3000;
    while (d.host.stats().drops.udpRate < 15 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const stats = d.host.stats();
    assert.equal(stats.drops.udpSize, 1);
    assert.ok(stats.drops.udpRate >= 15, `rate drops ${stats.drops.udpRate}`);
    assert.ok(stats.perService.echo.datagrams <= 6, `datagrams admitted ${stats.perService.echo.datagrams}`);
    assert.ok(replies.includes('first'));
  } finally {
    sock.close();
    await d.stop();
  }
});

test('quarantine stores content by hash with metadata, never under the attacker name', async () => {
  const d = await startTestDecky({ services: ['echo'] });
  try {
    const c = client(d.ip, d.port('echo'));
    await c.waitFor('hello');
    c.socket.write('upload #!/bin/sh\n');
    await c.waitFor('stored ');
    const e = await d.waitForEvent((e) => e.event === 'file_upload');
    assert.equal(e.fields.stored, 'true');
    const path = join(d.dataDir, 'quarantine', d.name, 'upload', e.fields.sha256);
    assert.equal(readFileSync(path, 'utf8'), '#!/bin/sh');
    assert.equal(statSync(path).mode & 0o777, 0o640);
    const meta = JSON.parse(readFileSync(path + '.json', 'utf8'));
    assert.equal(meta.name, 'payload.bin');
    assert.equal(meta.size, 9);
    assert.equal(meta.truncated, false);
    c.socket.destroy();
  } finally {
    await d.stop();
  }
});

test('TLS services get a per-decky self-signed certificate with the hostname as CN', async () => {
  const d = await startTestDecky({ services: ['tlsecho'], persona: { hostname: 'mail.corp.example' } });
  try {
    const s = tlsConnect({ host: d.ip, port: d.port('tlsecho'), rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', () => resolve());
      s.once('error', reject);
    });
    const cert = new X509Certificate(s.getPeerX509Certificate()!.raw);
    assert.match(cert.subject, /CN=mail\.corp\.example/);
    s.write('over tls\n');
    const e = await d.waitForEvent((e) => e.event === 'request');
    assert.equal(e.fields.line, 'over tls');
    s.destroy();
    const disc = await d.waitForEvent((e) => e.event === 'disconnect');
    assert.ok(Number(disc.fields.bytes_in) > 100, 'byte counts include the TLS handshake');
  } finally {
    await d.stop();
  }
});

test('a port that cannot be bound is reported with a hint; the other services keep running', async () => {
  const ip = freshLoopbackIp();
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, ip, () => r()));
  const taken = (squatter.address() as { port: number }).port;
  const dataDir = await mkdtemp(join(tmpdir(), 'decnet-host-'));
  const echo = (await import('./fixtures/echo.ts')).default as DecoyService;
  const other = { ...echo, name: 'echo2' };
  const plan: DeckyPlan[] = [
    {
      name: 'clash',
      ip,
      persona: { hostname: 'clash', archetype: 'linux-server', distro: 'debian', osFamily: 'linux' },
      services: [
        { name: 'echo', ports: [taken, 0] },
        { name: 'echo2', ports: [0, 0] },
      ],
    },
  ];
  const host = await startDecoyHost(plan, { dataDir, loadService: async (n) => (n === 'echo' ? echo : other) });
  try {
    const listeners = host.deckies()[0].listeners;
    const failed = listeners.find((l) => l.service === 'echo' && l.transport === 'tcp')!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!, /EADDRINUSE/);
    assert.match(failed.hint!, /already in use/);
    const ok = listeners.find((l) => l.service === 'echo2' && l.transport === 'tcp')!;
    assert.equal(ok.status, 'listening');
    const c = client(ip, ok.port);
    await c.waitFor('hello');
    c.socket.destroy();
    assert.equal(host.stats().failedListeners, 1);
  } finally {
    await host.stop();
    squatter.close();
  }
});

test('apply() starts added deckies, stops removed ones and restarts changed ones', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'decnet-host-'));
  const echo = (await import('./fixtures/echo.ts')).default as DecoyService;
  let loads = 0;
  const loadService = async () => {
    loads++;
    return echo;
  };
  const decky = (name: string, greeting = 'hello'): DeckyPlan => ({
    name,
    ip: freshLoopbackIp(),
    persona: { hostname: name, archetype: 'linux-server', distro: 'debian', osFamily: 'linux' },
    services: [{ name: 'echo', ports: [0, 0], config: { greeting } }],
  });
  const a = decky('a');
  const b = decky('b');
  const host = await startDecoyHost([a, b], { dataDir, loadService });
  try {
    const portOf = (name: string) => host.deckies().find((d) => d.name === name)!.listeners[0].port;
    const bPort = portOf('b');
    const held = client(b.ip, bPort);
    await held.waitFor('hello');
    const c = decky('c');
    const a2 = { ...a, services: [{ name: 'echo', ports: [0, 0], config: { greeting: 'howdy' } }] };
    const result = await host.apply([a2, c]);
    assert.deepEqual(result, { added: ['c'], removed: ['b'], restarted: ['a'] });
    assert.deepEqual(host.deckies().map((d) => d.name).sort(), ['a', 'c']);
    await within(held.closed, 3000, 'the removed decky to drop its connections');
    const refused = connect({ host: b.ip, port: bPort });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => refused.once('error', resolve));
    assert.equal(err.code, 'ECONNREFUSED');
    const greeted = client(a.ip, portOf('a'));
    await greeted.waitFor('howdy from a');
    greeted.socket.destroy();
    assert.equal(loads, 1, 'a service module is loaded once per host');
    await host.flush();
    const lines = readFileSync(join(dataDir, 'events', 'decoy.log'), 'utf8').trimEnd().split('\n').map((l) => parseEventLine(l));
    const shutdown = lines.find((e) => e.decky === 'b' && e.event === 'disconnect');
    assert.equal(shutdown?.fields.reason, 'shutdown');
  } finally {
    await host.stop();
  }
});

test('stop() closes every listener and flushes the log', async () => {
  const d = await startTestDecky({ services: ['echo'] });
  const port = d.port('echo');
  const c = client(d.ip, port);
  await c.waitFor('hello');
  await d.stop();
  await within(c.closed, 3000, 'connections to close on stop');
  const lines = readFileSync(d.eventLogPath, 'utf8').trimEnd().split('\n');
  assert.equal(parseEventLine(lines.at(-1)!).fields.reason, 'shutdown');
  const refused = connect({ host: d.ip, port });
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => refused.once('error', resolve));
  assert.equal(err.code, 'ECONNREFUSED');
});
