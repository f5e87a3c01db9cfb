// The collector: syslog from other sources (real UDP and TCP senders, both TCP framings) becomes
// DECNET event lines in the collector log, which the ingester stores like the decoy log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import collector from '../../src/pipeline/collector-worker.ts';
import ingester from '../../src/pipeline/ingester-worker.ts';
import { topics } from '../../src/bus/topics.ts';
import { formatEvent, parseEventLine } from '../../src/pipeline/rfc5424.ts';
import { normaliseSyslog } from '../../src/pipeline/syslog-normalise.ts';
import { parseListen } from '../../src/pipeline/syslog-receiver.ts';
import { countLogs, listLogs } from '../../src/db/logs/repo.ts';
import { listCredentials } from '../../src/db/credentials/repo.ts';
import { waitFor } from '../helpers/env.ts';
import { listen, openTestDb, runWorkers, sandbox } from './helpers.ts';

const now = new Date('2024-06-01T10:00:00.000Z');

function normalised(raw: string, opts = {}) {
  const r = normaliseSyslog(raw, '192.0.2.99', { now, ...opts });
  if (!('line' in r)) throw new Error(`not normalised: ${JSON.stringify(r)}`);
  return { ...r, rec: parseEventLine(r.line) };
}

test('a DECNET event line from elsewhere passes unchanged', () => {
  const line = formatEvent({ ts: '2024-05-01T00:00:00.000Z', decky: 'remote-1', service: 'ssh', event: 'auth_attempt', src_ip: '198.51.100.1', src_port: 5555, dst_ip: '10.0.0.1', dst_port: 22, fields: { username: 'root' }, secret: 'x' });
  const r = normalised(line);
  assert.equal(r.passthrough, true);
  assert.equal(r.line, line);
});

test('a foreign RFC 5424 message maps host, app, msgid and params; the address comes from remote_addr host:port', () => {
  const r = normalised('<134>1 2024-05-01T12:00:00.123456+02:00 web7 nginx 1234 Access-Log [meta@1 remote_addr="203.0.113.5:40222" path="/admin" ts="x"][other@2 Status="401"] GET /admin');
  assert.equal(r.passthrough, false);
  assert.equal(r.rec.decky, 'web7');
  assert.equal(r.rec.service, 'nginx');
  assert.equal(r.rec.event, 'access_log');
  assert.equal(r.rec.src_ip, '203.0.113.5');
  assert.equal(r.rec.src_port, 40222);
  assert.equal(r.rec.ts, '2024-05-01T10:00:00.123Z');
  assert.equal(r.rec.fields.path, '/admin');
  assert.equal(r.rec.fields.status, '401');
  assert.equal(r.rec.fields.x_ts, 'x', 'a reserved name is renamed, not dropped');
  assert.equal(r.rec.fields.received_from, '192.0.2.99');
  assert.equal(r.rec.msg, 'GET /admin');
});

test('the address is found in the MSG when no field has it; RFC 3164 messages are accepted', () => {
  const a = normalised('<38>1 - fw1 pf - - - block in from 198.51.100.23 to 10.0.0.1');
  assert.equal(a.rec.src_ip, '198.51.100.23');
  assert.equal(a.rec.event, 'message');
  assert.equal(a.rec.ts, now.toISOString());
  const b = normalised('<38>Jun  1 09:59:58 gw dropbear[311]: Bad password attempt for root from 203.0.113.9:5122');
  assert.equal(b.rec.decky, 'gw');
  assert.equal(b.rec.service, 'dropbear');
  assert.equal(b.rec.src_ip, '203.0.113.9');
  assert.equal(b.rec.fields.orig_ts, 'Jun 1 09:59:58');
  assert.equal(b.rec.ts, now.toISOString(), 'a year-less, zone-less time is replaced by the receipt time');
});

test('hostile values cannot forge fields: quotes and brackets stay inside their value', () => {
  const r = normalised('<134>1 2024-05-01T12:00:00Z h app - login [x@1 user="root\\"] [relay@55555 src_ip=\\"6.6.6.6\\"" src_ip="203.0.113.1"] msg "] [relay@55555 decky="evil"]');
  assert.equal(r.rec.src_ip, '203.0.113.1');
  assert.equal(r.rec.decky, 'h');
  assert.equal(r.rec.fields.user, 'root"] [relay@55555 src_ip="6.6.6.6"');
  assert.equal(r.rec.msg, 'msg "] [relay@55555 decky="evil"]');
});

test('noise apps are dropped, garbage is refused with a reason', () => {
  assert.deepEqual(normaliseSyslog('<38>1 2024-05-01T12:00:00Z h CRON - - - tick', 'x', { dropApps: new Set(['CRON']) }), { dropped: 'CRON' });
  const bad = normaliseSyslog('hello world', 'x');
  assert.ok('error' in bad && /RFC 3164/.test(bad.error));
  const unterminated = normaliseSyslog('<13>1 2024-05-01T12:00:00Z h a - - [x@1 k="v', 'x');
  assert.ok('error' in unterminated && /unterminated/.test(unterminated.error));
});

test('listen addresses: both transports by default, explicit ones, and a clear error otherwise', () => {
  assert.deepEqual(parseListen('127.0.0.1:5514').map((a) => a.transport), ['udp', 'tcp']);
  assert.deepEqual(parseListen('tcp://[::1]:6514'), [{ transport: 'tcp', host: '::1', port: 6514 }]);
  assert.throws(() => parseListen('localhost'), /must look like udp:\/\/127\.0\.0\.1:5514/);
  assert.throws(() => parseListen('udp://example.com:514'), /is not an IP address/);
});

test('syslog over UDP and TCP (octet counting and newline framing) reaches the database', { timeout: 30_000 }, async () => {
  const box = sandbox();
  const health = await listen([topics.workerHealth('collector')]);
  const run = await runWorkers(
    [
      { def: collector, config: { listen: ['udp://127.0.0.1:0', 'tcp://127.0.0.1:0'] } },
      { def: ingester, config: { poll: 20 } },
    ],
    { healthIntervalMs: 100 },
  );
  const db = await openTestDb(box);
  try {
    await waitFor(() => (health.of(topics.workerHealth('collector')).at(-1)?.payload.listening as string[] | undefined)?.length === 2, 5000, 'the listeners');
    const listening = health.of(topics.workerHealth('collector')).at(-1)!.payload.listening as string[];
    const port = (t: string) => Number(listening.find((l) => l.startsWith(t))!.split(':').at(-1));

    const udp = createSocket('udp4');
    const decnetLine = formatEvent({ ts: '2024-05-01T00:00:00.000Z', decky: 'remote-1', service: 'ftp', event: 'auth_attempt', src_ip: '198.51.100.50', src_port: 1000, dst_ip: '10.0.0.1', dst_port: 21, fields: { username: 'anonymous' }, secret: 'guest@' });
    await new Promise<void>((r, j) => udp.send(decnetLine, port('udp'), '127.0.0.1', (err) => (err ? j(err) : r())));
    await new Promise<void>((r, j) => udp.send('<38>1 2024-05-01T00:00:01Z fw1 pf - block [pf@1 src="198.51.100.51" dst_port="445"]', port('udp'), '127.0.0.1', (err) => (err ? j(err) : r())));
    udp.close();

    const tcp = connect(port('tcp'), '127.0.0.1');
    await new Promise<void>((r) => tcp.once('connect', () => r()));
    const framed = '<38>1 2024-05-01T00:00:02Z gw sshd2 - login [a@1 client_ip="198.51.100.52"] octet counted';
    tcp.write(`${Buffer.byteLength(framed)} ${framed}`);
    tcp.write('<38>Jun  1 10:00:00 gw telnetd: login failure from 198.51.100.53\n');
    tcp.end();

    // A frame bigger than the limit closes that connection only.
    const big = connect(port('tcp'), '127.0.0.1');
    await new Promise<void>((r) => big.once('connect', () => r()));
    big.on('error', () => undefined);
    big.write('9999999 ');
    await new Promise<void>((r) => big.once('close', () => r()));

    await waitFor(async () => (await countLogs(db)) === 4, 10_000, 'the four messages');
    const rows = (await listLogs(db, { limit: 10 })).data;
    const byIp = new Map(rows.map((r) => [r.attacker_ip, r]));
    assert.equal(byIp.get('198.51.100.50')!.decky, 'remote-1');
    assert.equal(byIp.get('198.51.100.51')!.event_type, 'block');
    assert.equal(byIp.get('198.51.100.51')!.fields.received_from, '127.0.0.1');
    assert.equal(byIp.get('198.51.100.52')!.service, 'sshd2');
    assert.equal(byIp.get('198.51.100.53')!.decky, 'gw');
    const creds = await listCredentials(db, {});
    assert.deepEqual(creds.data.map((c) => [c.attacker_ip, c.principal, c.secret_printable]), [['198.51.100.50', 'anonymous', 'guest@']]);
    await waitFor(() => (health.of(topics.workerHealth('collector')).at(-1)?.payload.bad_frames as number) >= 1, 5000, 'the bad frame counted');
  } finally {
    await run.stop();
    await health.close();
    await db.close();
    await box.cleanup();
  }
});

test('a port already taken is reported and retried, and the worker keeps running', { timeout: 20_000 }, async () => {
  const box = sandbox();
  const blocker = createSocket('udp4');
  await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()));
  const taken = blocker.address().port;
  const health = await listen([topics.workerHealth('collector')]);
  const run = await runWorkers([{ def: collector, config: { listen: [`udp://127.0.0.1:${taken}`] } }], { healthIntervalMs: 100 });
  try {
    await waitFor(() => {
      const p = health.of(topics.workerHealth('collector')).at(-1)?.payload;
      return p?.bind_errors !== undefined && Object.keys(p.bind_errors as object).length === 1 && p.state === 'running';
    }, 5000, 'the bind error in health');
  } finally {
    await run.stop();
    blocker.close();
    await health.close();
    await box.cleanup();
  }
});
