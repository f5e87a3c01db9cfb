import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { parse, query } from './dns-support.ts';
import { RawUdp } from './net-support.ts';

let d: TestDecky;
let c: RawUdp;
before(async () => {
  d = await startTestDecky({ services: ['llmnr'], persona: { hostname: 'WKS-FIN-07', osFamily: 'windows', distro: 'win10', archetype: 'windows-workstation' } });
  c = await RawUdp.open();
});
after(async () => {
  c.close();
  await d.stop();
});

test('answers its own name with its address, and only its own name', async () => {
  // Two queries for names it does not own, then one for its own: the first reply must be the third.
  c.send(query(1, 'fileserver', 1, { flags: 0 }), d.port('llmnr'), d.ip);
  c.send(query(2, 'wpad', 1, { flags: 0 }), d.port('llmnr'), d.ip);
  c.send(query(3, 'wks-fin-07', 1, { flags: 0 }), d.port('llmnr'), d.ip);
  const r = parse((await c.receive()).msg);
  assert.equal(r.id, 3);
  assert.equal(r.flags & 0x8000, 0x8000);
  assert.equal(r.questions[0]!.name, 'wks-fin-07');
  assert.deepEqual(r.answers.map((a) => [a.name, a.type, a.value, a.ttl]), [['wks-fin-07', 1, d.ip, 30]]);

  c.send(query(4, 'WKS-FIN-07', 28, { flags: 0 }), d.port('llmnr'), d.ip);
  const v6 = parse((await c.receive()).msg);
  assert.equal(v6.id, 4);
  assert.equal(v6.answers.length, 0, 'no IPv6 address: empty answer for the owned name');

  const wpad = await d.waitForEvent((e) => e.service === 'llmnr' && e.event === 'query' && e.fields.qname === 'wpad');
  assert.deepEqual([wpad.fields.qtype, wpad.fields.qclass, wpad.fields.answered], ['A', 'IN', 'false']);
  const own = await d.waitForEvent((e) => e.event === 'query' && e.fields.qname === 'wks-fin-07');
  assert.equal(own.fields.answered, 'true');
});

test('garbage is recorded and ignored; the responder keeps working', async () => {
  c.send(Buffer.from('\x00\x01\x00\x00\x00\x01', 'latin1'), d.port('llmnr'), d.ip);
  c.send(Buffer.from('ffff8000000100000000000003616161000001', 'hex'), d.port('llmnr'), d.ip); // a response, not a query
  await d.waitForEvent((e) => e.service === 'llmnr' && e.event === 'payload' && e.fields.reason === 'malformed');
  c.send(query(9, 'wks-fin-07', 255, { flags: 0 }), d.port('llmnr'), d.ip);
  const r = parse((await c.receive()).msg);
  assert.equal(r.id, 9);
  assert.equal(r.answers[0]!.value, d.ip);
});
