import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { RawTcp, RawUdp } from './net-support.ts';

let d: TestDecky;
let c: RawUdp;
before(async () => {
  d = await startTestDecky({ services: ['sip'], persona: { archetype: 'voip-server' } });
  c = await RawUdp.open();
});
after(async () => {
  c.close();
  await d.stop();
});

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

function request(method: string, user: string, extra: string[] = [], transport = 'UDP'): string {
  return [
    `${method} sip:${d.ip} SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:${c.port};branch=z9hG4bK-${Math.random().toString(16).slice(2)};rport`,
    `From: "${user}" <sip:${user}@${d.ip}>;tag=abc123`,
    `To: "${user}" <sip:${user}@${d.ip}>`,
    `Call-ID: call-${user}-${method}@127.0.0.1`,
    `CSeq: 1 ${method}`,
    'Max-Forwards: 70',
    'User-Agent: friendly-scanner',
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function send(text: string): Promise<{ status: number; headers: Map<string, string>; raw: string }> {
  c.send(Buffer.from(text), d.port('sip', 0), d.ip);
  const raw = (await c.receive()).msg.toString();
  const [start, ...lines] = raw.split('\r\n');
  const headers = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  return { status: Number(start!.split(' ')[1]), headers, raw };
}

test('OPTIONS gets 200 with the PBX capabilities and a Via that learned the source', async () => {
  const r = await send(request('OPTIONS', '100'));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('server'), 'Asterisk PBX 18.20.2');
  assert.match(r.headers.get('allow')!, /INVITE/);
  assert.match(r.headers.get('via')!, new RegExp(`;rport=${c.port};received=127\\.0\\.0\\.1$`));
  assert.match(r.headers.get('to')!, /;tag=[0-9a-f]{10}$/);
  const e = await d.waitForEvent((e) => e.service === 'sip' && e.event === 'request' && e.fields.method === 'OPTIONS');
  assert.equal(e.fields.user_agent, 'friendly-scanner');
  assert.equal(e.fields.uri, `sip:${d.ip}`);
  assert.equal(e.fields.transport, 'udp');
});

test('REGISTER: challenge, then the digest is recorded as a crackable line and refused', async () => {
  const first = await send(request('REGISTER', '1001'));
  assert.equal(first.status, 401);
  const challenge = first.headers.get('www-authenticate')!;
  const realm = /realm="([^"]+)"/.exec(challenge)![1]!;
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  assert.equal(realm, 'asterisk');
  assert.match(challenge, /qop="auth"/);

  const uri = `sip:${d.ip}`;
  const cnonce = '0a4f113b';
  const nc = '00000001';
  const response = md5(`${md5(`1001:${realm}:letmein`)}:${nonce}:${nc}:${cnonce}:auth:${md5(`REGISTER:${uri}`)}`);
  const auth = `Authorization: Digest username="1001",realm="${realm}",nonce="${nonce}",uri="${uri}",response="${response}",algorithm=MD5,cnonce="${cnonce}",qop=auth,nc=${nc}`;
  const second = await send(request('REGISTER', '1001', [auth]));
  assert.equal(second.status, 403);

  const e = await d.waitForEvent((e) => e.service === 'sip' && e.event === 'auth_attempt');
  assert.deepEqual([e.fields.username, e.fields.realm, e.fields.method, e.fields.success], ['1001', 'asterisk', 'REGISTER', 'false']);
  const f = e.secret!.toString().split('*');
  assert.equal(f.length, 15);
  assert.equal(f[0], '$sip$');
  // Rebuild the digest from the recorded line, as a cracker does, and check the password matches.
  const [, , , user, rlm, method, prefix, resource, suffix, n, cn, count, qop, , hash] = f;
  const rebuiltUri = `${prefix}:${resource}${suffix ? ':' + suffix : ''}`;
  assert.equal(md5(`${md5(`${user}:${rlm}:letmein`)}:${n}:${count}:${cn}:${qop}:${md5(`${method}:${rebuiltUri}`)}`), hash);
});

test('INVITE is challenged, BYE gets 481, unknown methods 501, over TCP too', async () => {
  assert.equal((await send(request('INVITE', '2000'))).status, 401);
  assert.equal((await send(request('BYE', '2000'))).status, 481);
  assert.equal((await send(request('FROBNICATE', '2000'))).status, 501);
  const t = await RawTcp.open(d.ip, d.port('sip', 1));
  t.write('\r\n\r\n');
  assert.equal((await t.read(2)).toString(), '\r\n', 'keep-alive pong');
  t.write(request('OPTIONS', '300', [], 'TCP'));
  const head = (await t.readUntil('\r\n\r\n')).toString();
  assert.match(head, /^SIP\/2\.0 200 OK\r\n/);
  t.close();
  await d.waitForEvent((e) => e.event === 'request' && e.fields.transport === 'tcp' && e.fields.method === 'OPTIONS');
});

test('garbage and oversized messages are recorded and dropped; the server keeps answering', async () => {
  c.send(Buffer.from('HELLO THERE\r\n\r\n'), d.port('sip', 0), d.ip);
  const t = await RawTcp.open(d.ip, d.port('sip', 1));
  t.write(`INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/TCP x\r\nContent-Length: 999999\r\n\r\n`);
  await t.closed();
  await d.waitForEvent((e) => e.service === 'sip' && e.event === 'payload' && e.fields.reason === 'bad request line');
  await d.waitForEvent((e) => e.service === 'sip' && e.event === 'payload' && e.fields.reason === 'message too large');
  assert.equal((await send(request('OPTIONS', '400'))).status, 200);
});
