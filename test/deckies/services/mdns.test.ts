import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { parse, query } from './dns-support.ts';
import { RawUdp } from './net-support.ts';

let d: TestDecky;
let c: RawUdp;
before(async () => {
  d = await startTestDecky({ services: ['mdns'], persona: { hostname: 'nas-02', archetype: 'file-server', distro: 'debian' } });
  c = await RawUdp.open();
});
after(async () => {
  c.close();
  await d.stop();
});

test('legacy unicast: host name, DNS-SD browse and service instance, with echoed id and capped TTL', async () => {
  c.send(query(0x1234, 'nas-02.local', 1, { flags: 0 }), d.port('mdns'), d.ip);
  const a = parse((await c.receive()).msg);
  assert.equal(a.id, 0x1234);
  assert.equal(a.questions.length, 1);
  assert.deepEqual(a.answers.map((r) => [r.name, r.value, r.cls, r.ttl]), [['nas-02.local', d.ip, 1, 10]]);

  c.send(query(2, '_services._dns-sd._udp.local', 12, { flags: 0 }), d.port('mdns'), d.ip);
  const browse = parse((await c.receive()).msg);
  assert.deepEqual(browse.answers.map((r) => r.value), ['_smb._tcp.local', '_sftp-ssh._tcp.local', '_workstation._tcp.local']);

  c.send(query(3, '_smb._tcp.local', 12, { flags: 0 }), d.port('mdns'), d.ip);
  const ptr = parse((await c.receive()).msg);
  assert.equal(ptr.answers[0]!.value, 'nas-02._smb._tcp.local');
  c.send(query(4, 'nas-02._smb._tcp.local', 33, { flags: 0 }), d.port('mdns'), d.ip);
  const srv = parse((await c.receive()).msg);
  assert.equal(srv.answers[0]!.value, '0 0 445 nas-02.local');

  const e = await d.waitForEvent((e) => e.service === 'mdns' && e.event === 'query' && e.fields.qname === '_services._dns-sd._udp.local');
  assert.deepEqual([e.fields.qtype, e.fields.answered, e.fields.unicast_response], ['PTR', 'true', 'true']);
});

test('names it does not own get no answer', async () => {
  c.send(query(5, 'printer.local', 1, { flags: 0 }), d.port('mdns'), d.ip);
  c.send(query(6, 'nas-02.local', 1, { flags: 0 }), d.port('mdns'), d.ip);
  const r = parse((await c.receive()).msg);
  assert.equal(r.id, 6, 'the query for a foreign name was not answered');
  await d.waitForEvent((e) => e.event === 'query' && e.fields.qname === 'printer.local' && e.fields.answered === 'false');
});

test('queries from port 5353 get a multicast-style reply', async (t) => {
  // A querier on the mDNS port itself (bound on another loopback address) gets id 0, no question, cache-flush set.
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  const bound = await new Promise<boolean>((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(5353, '127.0.0.2', () => resolve(true));
  });
  if (!bound) {
    s.close();
    t.skip('cannot bind 127.0.0.2:5353 on this machine (another mDNS responder holds it)');
    return;
  }
  try {
    const got = new Promise<Buffer>((resolve) => s.once('message', (m) => resolve(m)));
    s.send(query(7, 'nas-02.local', 1, { flags: 0 }), d.port('mdns'), d.ip);
    const m = parse(await got);
    assert.equal(m.id, 0);
    assert.equal(m.questions.length, 0);
    assert.equal(m.answers[0]!.cls, 0x8001);
    assert.equal(m.answers[0]!.ttl, 120);
  } finally {
    s.close();
  }
});

test('malformed packets are recorded and ignored', async () => {
  c.send(Buffer.from('0000000000010000000000000a', 'hex'), d.port('mdns'), d.ip);
  await d.waitForEvent((e) => e.service === 'mdns' && e.event === 'payload');
  c.send(query(8, 'NAS-02.local', 255, { flags: 0 }), d.port('mdns'), d.ip);
  assert.equal(parse((await c.receive()).msg).id, 8);
});
