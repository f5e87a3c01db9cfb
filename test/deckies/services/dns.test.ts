import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { parse, query, type Response } from './dns-support.ts';
import { RawTcp, RawUdp } from './net-support.ts';

let lin: TestDecky;
let win: TestDecky;
let c: RawUdp;
before(async () => {
  lin = await startTestDecky({ services: [{ name: 'dns', config: { domain: 'acme.example', extra_records: 'vault A 10.9.8.7; @ TXT "google-site-verification=abc"' } }], persona: { hostname: 'ns-main', distro: 'debian' } });
  win = await startTestDecky({ services: [{ name: 'dns', config: { allow_axfr: 'true' } }], persona: { hostname: 'DC01', osFamily: 'windows', distro: 'win2019', archetype: 'domain-controller' } });
  c = await RawUdp.open();
});
after(async () => {
  c.close();
  await lin.stop();
  await win.stop();
});

let nextId = 100;
async function ask(d: TestDecky, name: string, type: number, opts: Parameters<typeof query>[3] = {}): Promise<Response> {
  const id = ++nextId;
  c.send(query(id, name, type, opts), d.port('dns', 0), d.ip);
  const r = parse((await c.receive()).msg);
  assert.equal(r.id, id);
  return r;
}

async function askTcp(d: TestDecky, name: string, type: number): Promise<Response> {
  const t = await RawTcp.open(d.ip, d.port('dns', 1));
  const q = query(++nextId, name, type);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(q.length);
  t.write(Buffer.concat([len, q]));
  const n = (await t.read(2)).readUInt16BE(0);
  const r = parse(await t.read(n));
  t.close();
  return r;
}

test('authoritative answers for the zone: host, MX with glue, CNAME chain, extra records', async () => {
  const a = await ask(lin, 'ns-main.acme.example', 1);
  assert.equal(a.rcode, 0);
  assert.ok(a.aa);
  assert.equal(a.flags & 0x0080, 0, 'recursion not available');
  assert.deepEqual(a.answers.map((r) => r.value), [lin.ip]);
  const mx = await ask(lin, 'acme.example', 15);
  assert.deepEqual(mx.answers.map((r) => r.value), ['10 mail.acme.example']);
  assert.equal(mx.additional[0]!.name, 'mail.acme.example');
  const cname = await ask(lin, 'webmail.acme.example', 1);
  assert.deepEqual(cname.answers.map((r) => r.type), [5, 1]);
  const vault = await ask(lin, 'vault.acme.example', 1);
  assert.deepEqual(vault.answers.map((r) => r.value), ['10.9.8.7']);
  const txt = await ask(lin, 'acme.example', 16);
  assert.ok(txt.answers.some((r) => r.value === 'google-site-verification=abc'));
  const ptr = await ask(lin, lin.ip.split('.').reverse().join('.') + '.in-addr.arpa', 12);
  assert.deepEqual(ptr.answers.map((r) => r.value), ['ns-main.acme.example']);
  const e = await lin.waitForEvent((e) => e.service === 'dns' && e.event === 'query' && e.fields.qtype === 'MX');
  assert.deepEqual([e.fields.qname, e.fields.qclass, e.fields.transport, e.fields.rcode, e.fields.rd], ['acme.example', 'IN', 'udp', 'NOERROR', 'true']);
});

test('NXDOMAIN and NODATA carry the SOA; foreign names are REFUSED, never recursed', async () => {
  const nx = await ask(lin, 'nope.acme.example', 1);
  assert.equal(nx.rcode, 3);
  assert.equal(nx.authority[0]!.type, 6);
  const nodata = await ask(lin, 'www.acme.example', 28);
  assert.equal(nodata.rcode, 0);
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authority[0]!.type, 6);
  const foreign = await ask(lin, 'www.google.com', 1);
  assert.equal(foreign.rcode, 5);
  assert.equal(foreign.answers.length, 0);
  await lin.waitForEvent((e) => e.event === 'query' && e.fields.qname === 'www.google.com' && e.fields.rcode === 'REFUSED');
});

test('version.bind per persona; EDNS cookie answered; AXFR refused and recorded', async () => {
  const v = await ask(lin, 'version.bind', 16, { cls: 3 });
  assert.deepEqual(v.answers.map((r) => r.value), ['9.18.28-1~deb12u2-Debian']);
  assert.equal(v.answers[0]!.cls, 3);
  const cookie = Buffer.from('000a00080102030405060708', 'hex');
  const withCookie = await ask(lin, 'acme.example', 6, { edns: [cookie] });
  const opt = withCookie.additional.find((r) => r.type === 41)!;
  assert.equal(opt.cls, 1232, 'BIND 9.18 advertises 1232');
  assert.equal(opt.data.readUInt16BE(0), 10);
  assert.equal(opt.data.readUInt16BE(2), 24);
  assert.equal(opt.data.subarray(4, 12).toString('hex'), '0102030405060708');
  const axfr = await askTcp(lin, 'acme.example', 252);
  assert.equal(axfr.rcode, 5);
  const e = await lin.waitForEvent((e) => e.event === 'zone_transfer');
  assert.deepEqual([e.fields.qname, e.fields.transport, e.fields.allowed], ['acme.example', 'tcp', 'false']);
});

test('Windows DC persona: AD service records, Microsoft DNS version, bait AXFR when allowed', async () => {
  const srv = await ask(win, '_ldap._tcp.dc._msdcs.corp.local', 33);
  assert.deepEqual(srv.answers.map((r) => r.value), ['0 100 389 dc01.corp.local']);
  assert.deepEqual(srv.additional.map((r) => r.value), [win.ip]);
  const v = await ask(win, 'version.bind', 16, { cls: 3 });
  assert.match(v.answers[0]!.value, /^Microsoft DNS 10\.0\.17763 \([0-9A-F]{8}\)$/);
  const z = await askTcp(win, 'corp.local', 252);
  assert.equal(z.rcode, 0);
  assert.equal(z.answers[0]!.type, 6);
  assert.equal(z.answers.at(-1)!.type, 6);
  assert.ok(z.answers.some((r) => r.name === 'vpn.corp.local'));
  await win.waitForEvent((e) => e.event === 'zone_transfer' && e.fields.allowed === 'true');
});

test('malformed queries get FORMERR or silence; the server keeps answering', async () => {
  const bad = Buffer.concat([Buffer.from('abcd0100000100000000000003777777c0', 'hex')]);
  c.send(bad, lin.port('dns', 0), lin.ip);
  const r = parse((await c.receive()).msg);
  assert.equal(r.id, 0xabcd);
  assert.equal(r.rcode, 1);
  c.send(Buffer.from('xx'), lin.port('dns', 0), lin.ip);
  const t = await RawTcp.open(lin.ip, lin.port('dns', 1));
  t.write(Buffer.from([0x00, 0x40, 0x12])); // length prefix promising more than is sent
  t.close();
  await lin.waitForEvent((e) => e.service === 'dns' && e.event === 'payload' && e.fields.reason === 'malformed');
  const ok = await askTcp(lin, 'ns1.acme.example', 1);
  assert.deepEqual(ok.answers.map((x) => x.value), [lin.ip]);
});
