import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { asInt, asOid, decode, int, oid, seq, str, tlv, type Node } from './ber-support.ts';
import { RawUdp } from './net-support.ts';

let d: TestDecky;
let win: TestDecky;
let c: RawUdp;
before(async () => {
  d = await startTestDecky({ services: ['snmp'], name: 'mon-01', persona: { hostname: 'mon-01', distro: 'debian', archetype: 'monitoring-node' } });
  win = await startTestDecky({ services: [{ name: 'snmp', config: { community: 'corp-ro' } }], persona: { hostname: 'FS01', osFamily: 'windows', distro: 'win2019', archetype: 'windows-server' } });
  c = await RawUdp.open();
});
after(async () => {
  c.close();
  await d.stop();
  await win.stop();
});

let rid = 1000;
function request(version: number, community: string, pduTag: number, oids: string[], a = 0, b = 0): { msg: Buffer; id: number } {
  const id = ++rid;
  const vbs = seq(...oids.map((o) => seq(oid(o), tlv(0x05))));
  return { msg: seq(int(version), str(community), tlv(pduTag, int(id), int(a), int(b), vbs)), id };
}

async function ask(target: TestDecky, req: { msg: Buffer; id: number }): Promise<{ id: number; error: number; index: number; binds: [string, Node][] }> {
  c.send(req.msg, target.port('snmp'), target.ip);
  const r = await c.receive();
  const [msg] = decode(r.msg);
  const pdu = msg!.children[2]!;
  assert.equal(pdu.tag, 0xa2, 'GetResponse');
  const [id, error, index, list] = pdu.children;
  return { id: asInt(id!), error: asInt(error!), index: asInt(index!), binds: list!.children.map((vb) => [asOid(vb.children[0]!), vb.children[1]!]) };
}

test('v2c GET answers the system group for the persona and records the community', async () => {
  const r = await ask(d, request(1, 'public', 0xa0, ['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.1.2.0', '1.3.6.1.2.1.1.3.0']));
  assert.equal(r.error, 0);
  assert.match(r.binds[0]![1].value.toString(), /^Linux mon-01 6\.1\.0-\d+-amd64 .*Debian.* x86_64$/);
  assert.equal(r.binds[1]![1].value.toString(), 'mon-01');
  assert.equal(asOid(r.binds[2]![1]), '1.3.6.1.4.1.8072.3.2.10');
  assert.equal(r.binds[3]![1].tag, 0x43, 'sysUpTime is TimeTicks');
  assert.ok(asInt(r.binds[3]![1]) > 100 * 86400, 'up for more than a day');
  const e = await d.waitForEvent((e) => e.service === 'snmp' && e.event === 'request');
  assert.deepEqual([e.fields.version, e.fields.pdu, e.fields.community_ok], ['2c', 'get', 'true']);
  assert.equal(e.fields.oids, '1.3.6.1.2.1.1.1.0,1.3.6.1.2.1.1.5.0,1.3.6.1.2.1.1.2.0,1.3.6.1.2.1.1.3.0');
  assert.equal(e.secret!.toString(), 'public');
});

test('a wrong community gets no answer but is recorded as a failed login', async () => {
  const wrong = request(1, 'private', 0xa0, ['1.3.6.1.2.1.1.5.0']);
  c.send(wrong.msg, d.port('snmp'), d.ip);
  // The next answer we get belongs to the later, correct request: the wrong one was ignored.
  const right = await ask(d, request(0, 'public', 0xa0, ['1.3.6.1.2.1.1.5.0']));
  assert.notEqual(right.id, wrong.id);
  assert.equal(right.id, rid);
  const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.secret?.toString() === 'private');
  assert.deepEqual([e.fields.success, e.fields.auth_method, e.fields.oids], ['false', 'community', '1.3.6.1.2.1.1.5.0']);
});

test('GETNEXT walks in OID order and v1 ends with noSuchName; v2c with endOfMibView', async () => {
  const walked: string[] = [];
  let cur = '1.3.6.1.2.1.1';
  for (let i = 0; i < 200; i++) {
    const r = await ask(d, request(1, 'public', 0xa1, [cur]));
    const [name, value] = r.binds[0]!;
    if (value.tag === 0x82) break;
    walked.push(name);
    cur = name;
  }
  assert.ok(walked.length > 20);
  assert.ok(walked.includes(`1.3.6.1.2.1.4.20.1.1.${d.ip}`), 'own address in ipAddrTable');
  const sorted = [...walked].sort((a, b) => {
    const x = a.split('.').map(Number);
    const y = b.split('.').map(Number);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return x.length - y.length;
  });
  assert.deepEqual(walked, sorted);
  const v1 = await ask(d, request(0, 'public', 0xa1, [walked.at(-1)!]));
  assert.deepEqual([v1.error, v1.index], [2, 1]);
  const missing = await ask(d, request(1, 'public', 0xa0, ['1.3.6.1.2.1.1.9.0', '1.3.6.1.2.1.1.5.7']));
  assert.deepEqual(missing.binds.map(([, v]) => v.tag), [0x80, 0x81]);
});

test('GETBULK returns repetitions within the reply budget, SET is refused', async () => {
  const r = await ask(d, request(1, 'public', 0xa5, ['1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.2.2.1.2'], 1, 4));
  assert.equal(r.binds[0]![0], '1.3.6.1.2.1.1.6.0');
  assert.deepEqual(r.binds.slice(1).map(([n]) => n), ['1.3.6.1.2.1.2.2.1.2.1', '1.3.6.1.2.1.2.2.1.2.2', '1.3.6.1.2.1.2.2.1.3.1', '1.3.6.1.2.1.2.2.1.3.2']);
  const big = await ask(d, request(1, 'public', 0xa5, ['1.3.6.1'], 0, 50));
  assert.ok(big.binds.length > 10);
  const set: { id: number; msg: Buffer } = { id: ++rid, msg: Buffer.alloc(0) };
  set.msg = seq(int(1), str('public'), tlv(0xa3, int(set.id), int(0), int(0), seq(seq(oid('1.3.6.1.2.1.1.6.0'), str('pwned')))));
  const s = await ask(d, set);
  assert.deepEqual([s.error, s.index], [6, 1]);
  const e = await d.waitForEvent((e) => e.event === 'request' && e.fields.pdu === 'set');
  assert.equal(e.fields.values, '1.3.6.1.2.1.1.6.0=pwned');
});

test('Windows persona: sysDescr and sysObjectID of a Windows server, custom community', async () => {
  const r = await ask(win, request(1, 'corp-ro', 0xa0, ['1.3.6.1.2.1.1.1.0', '1.3.6.1.2.1.1.2.0']));
  assert.match(r.binds[0]![1].value.toString(), /Software: Windows Version 6\.3 \(Build 17763 Multiprocessor Free\)/);
  assert.equal(asOid(r.binds[1]![1]), '1.3.6.1.4.1.311.1.1.3.1.2');
});

test('SNMPv3: discovery report, then unknown user with the user recorded', async () => {
  const v3 = (msgId: number, engine: Buffer, user: string, flags: number, reqId: number): Buffer =>
    seq(
      int(3),
      seq(int(msgId), int(65507), str(Buffer.from([flags])), int(3)),
      str(seq(str(engine), int(0), int(0), str(user), str(''), str(''))),
      seq(str(engine), str(''), tlv(0xa0, int(reqId), int(0), int(0), seq())),
    );
  c.send(v3(77, Buffer.alloc(0), '', 0x04, 5), d.port('snmp'), d.ip);
  const disc = decode((await c.receive()).msg)[0]!;
  assert.equal(asInt(disc.children[0]!), 3);
  assert.equal(asInt(disc.children[1]!.children[0]!), 77);
  const usm = decode(disc.children[2]!.value)[0]!;
  const engine = usm.children[0]!.value;
  assert.equal(engine.subarray(0, 5).toString('hex'), '80001f8880');
  const report = disc.children[3]!.children[2]!;
  assert.equal(report.tag, 0xa8);
  assert.equal(asOid(report.children[3]!.children[0]!.children[0]!), '1.3.6.1.6.3.15.1.1.4.0');

  c.send(v3(78, engine, 'snmpadmin', 0x04, 6), d.port('snmp'), d.ip);
  const unk = decode((await c.receive()).msg)[0]!;
  const report2 = unk.children[3]!.children[2]!;
  assert.equal(asInt(report2.children[0]!), 6, 'request id echoed');
  assert.equal(asOid(report2.children[3]!.children[0]!.children[0]!), '1.3.6.1.6.3.15.1.1.3.0');
  const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'snmpadmin');
  assert.deepEqual([e.fields.version, e.fields.security_level, e.fields.success], ['3', 'noAuthNoPriv', 'false']);
});

// RFC 3414 A.2.2: password to key (1 MiB of the repeated password), localised to the engine.
function localizedKey(password: string, engine: Buffer): Buffer {
  const h = createHash('sha1');
  const pw = Buffer.from(password);
  const block = Buffer.alloc(64);
  for (let n = 0; n < 1048576; n += 64) {
    for (let i = 0; i < 64; i++) block[i] = pw[(n + i) % pw.length]!;
    h.update(block);
  }
  const ku = h.digest();
  return createHash('sha1').update(Buffer.concat([ku, engine, ku])).digest();
}

test('SNMPv3 authenticated request: the recorded $SNMPv3$ line verifies against the password', async () => {
  const engine = Buffer.from('80001f888001020304050607080000abcd', 'hex');
  const build = (auth: Buffer): Buffer =>
    seq(
      int(3),
      seq(int(4242), int(65507), str(Buffer.from([0x05])), int(3)),
      str(seq(str(engine), int(5), int(1234), str('backup'), str(auth), str(''))),
      seq(str(engine), str(''), tlv(0xa0, int(9), int(0), int(0), seq(seq(oid('1.3.6.1.2.1.1.5.0'), tlv(0x05))))),
    );
  const zeroed = build(Buffer.alloc(12));
  const mac = createHmac('sha1', localizedKey('Winter2024!', engine)).update(zeroed).digest().subarray(0, 12);
  c.send(build(mac), d.port('snmp'), d.ip);
  await c.receive(); // the unknown-user report
  const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'backup');
  assert.equal(e.fields.security_level, 'authNoPriv');
  const [, tag, kind, , whole, eng, digest] = e.secret!.toString().split('$');
  assert.deepEqual([tag, kind], ['SNMPv3', '0']);
  assert.equal(eng, engine.toString('hex'));
  assert.equal(digest, mac.toString('hex'));
  const again = createHmac('sha1', localizedKey('Winter2024!', Buffer.from(eng!, 'hex'))).update(Buffer.from(whole!, 'hex')).digest().subarray(0, 12);
  assert.equal(again.toString('hex'), digest);
});

test('malformed datagrams are recorded and the agent keeps answering', async () => {
  c.send(Buffer.from('30820fff0201', 'hex'), d.port('snmp'), d.ip);
  c.send(Buffer.from('garbage'), d.port('snmp'), d.ip);
  c.send(seq(int(1), str('public'), tlv(0xa0, int(1))), d.port('snmp'), d.ip);
  await d.waitForEvent((e) => e.service === 'snmp' && e.event === 'payload' && e.fields.reason === 'malformed');
  const r = await ask(d, request(1, 'public', 0xa0, ['1.3.6.1.2.1.1.5.0']));
  assert.equal(r.binds[0]![1].value.toString(), 'mon-01');
});
