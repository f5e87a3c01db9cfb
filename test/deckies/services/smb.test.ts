import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { decode, oid, seq, str, tlv } from './ber-support.ts';
import { RawTcp, sendGarbage } from './net-support.ts';
import { ntlmAuthenticate, ntlmNegotiate, parseChallenge, verifyNetNtlmV2 } from './ntlm-client.ts';

let win: TestDecky;
let samba: TestDecky;
before(async () => {
  win = await startTestDecky({ services: ['smb'], persona: { hostname: 'FS01', osFamily: 'windows', distro: 'win2019', archetype: 'windows-server' } });
  samba = await startTestDecky({ services: ['smb'], persona: { hostname: 'nas-01', distro: 'debian', archetype: 'file-server' } });
});
after(async () => {
  await win.stop();
  await samba.stop();
});

let messageId = 0n;
function smb2(command: number, body: Buffer, sessionId = 0n): Buffer {
  const h = Buffer.alloc(64);
  h.writeUInt32LE(0x424d53fe, 0);
  h.writeUInt16LE(64, 4);
  h.writeUInt16LE(command, 12);
  h.writeUInt16LE(31, 14);
  h.writeBigUInt64LE(messageId++, 24);
  h.writeBigUInt64LE(sessionId, 40);
  const msg = Buffer.concat([h, body]);
  const frame = Buffer.alloc(4);
  frame.writeUInt32BE(msg.length);
  return Buffer.concat([frame, msg]);
}

async function readSmb2(c: RawTcp): Promise<{ status: number; command: number; sessionId: bigint; msg: Buffer }> {
  const len = (await c.read(4)).readUInt32BE(0);
  const msg = await c.read(len);
  assert.equal(msg.readUInt32LE(0), 0x424d53fe);
  return { status: msg.readUInt32LE(8), command: msg.readUInt16LE(12), sessionId: msg.readBigUInt64LE(40), msg };
}

function negotiateRequest(dialects: number[]): Buffer {
  const body = Buffer.alloc(36 + dialects.length * 2);
  body.writeUInt16LE(36, 0);
  body.writeUInt16LE(dialects.length, 2);
  body.writeUInt16LE(1, 4);
  body.write('0123456789abcdef', 12, 'latin1');
  dialects.forEach((d, i) => body.writeUInt16LE(d, 36 + i * 2));
  if (!dialects.includes(0x0311)) return body;
  // Negotiate contexts: preauth integrity (SHA-512) and encryption (AES-128-GCM, AES-128-CCM).
  const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((8 - (b.length % 8)) % 8)]);
  const preauth = Buffer.concat([Buffer.from([1, 0, 38, 0, 0, 0, 0, 0, 1, 0, 32, 0, 1, 0]), Buffer.alloc(32, 7)]);
  const enc = Buffer.from([2, 0, 6, 0, 0, 0, 0, 0, 2, 0, 2, 0, 1, 0]);
  const start = 64 + body.length;
  const lead = (8 - (start % 8)) % 8;
  body.writeUInt32LE(start + lead, 28);
  body.writeUInt16LE(2, 32);
  return Buffer.concat([body, Buffer.alloc(lead), pad(preauth), enc]);
}

function sessionSetup(token: Buffer): Buffer {
  const body = Buffer.alloc(24);
  body.writeUInt16LE(25, 0);
  body[3] = 1;
  body.writeUInt16LE(64 + 24, 12);
  body.writeUInt16LE(token.length, 14);
  return Buffer.concat([body, token]);
}

const spnegoInit = (ntlm: Buffer): Buffer =>
  tlv(0x60, oid('1.3.6.1.5.5.2'), tlv(0xa0, seq(tlv(0xa0, seq(oid('1.3.6.1.4.1.311.2.2.10'))), tlv(0xa2, str(ntlm)))));
const spnegoResp = (ntlm: Buffer): Buffer => tlv(0xa1, seq(tlv(0xa2, str(ntlm))));

/** Pulls the NTLM CHALLENGE out of the server's negTokenResp. */
function challengeFrom(secBlob: Buffer): Buffer {
  const [resp] = decode(secBlob);
  const fields = resp!.children[0]!.children;
  const token = fields.find((f) => f.tag === 0xa2)!.children[0]!;
  return token.value;
}

async function login(d: TestDecky, user: string, domain: string, password: string): Promise<{ challengeMsg: Buffer; finalStatus: number; negotiate: Buffer }> {
  const c = await RawTcp.open(d.ip, d.port('smb', 0));
  c.write(smb2(0, negotiateRequest([0x0202, 0x0210, 0x0300, 0x0302, 0x0311])));
  const neg = await readSmb2(c);
  c.write(smb2(1, sessionSetup(spnegoInit(ntlmNegotiate()))));
  const more = await readSmb2(c);
  assert.equal(more.status, 0xc0000016, 'STATUS_MORE_PROCESSING_REQUIRED');
  assert.notEqual(more.sessionId, 0n);
  const off = more.msg.readUInt16LE(64 + 4);
  const len = more.msg.readUInt16LE(64 + 6);
  const challengeMsg = challengeFrom(more.msg.subarray(off, off + len));
  const ch = parseChallenge(challengeMsg);
  c.write(smb2(1, sessionSetup(spnegoResp(ntlmAuthenticate(ch, user, domain, 'ROGUE-WS', password))), more.sessionId));
  const fin = await readSmb2(c);
  c.close();
  return { challengeMsg, finalStatus: fin.status, negotiate: neg.msg };
}

test('Windows persona: SMB 3.1.1 negotiate with contexts, NTLM challenge naming the domain member', async () => {
  const { challengeMsg, finalStatus, negotiate } = await login(win, 'Administrator', 'CORP', 'Spring2025!');
  assert.equal(negotiate.readUInt32LE(8), 0);
  assert.equal(negotiate.readUInt16LE(64 + 4), 0x0311, 'dialect 3.1.1');
  assert.equal(negotiate.readUInt16LE(64 + 2), 0x01, 'signing enabled, not required, on a member server');
  assert.equal(negotiate.readUInt16LE(64 + 6), 2, 'preauth + encryption contexts');
  const ctxOff = negotiate.readUInt32LE(64 + 60);
  assert.equal(negotiate.readUInt16LE(ctxOff), 1);
  assert.equal(finalStatus, 0xc000006d, 'STATUS_LOGON_FAILURE');
  const ch = parseChallenge(challengeMsg);
  assert.equal(ch.targetName, 'CORP');
  assert.equal(ch.av.get(1)!.toString('utf16le'), 'FS01');
  assert.equal(ch.av.get(4)!.toString('utf16le'), 'corp.local');
  assert.equal(ch.av.get(3)!.toString('utf16le'), 'fs01.corp.local');
  assert.deepEqual(ch.version, { major: 10, minor: 0, build: 17763 });

  const e = await win.waitForEvent((e) => e.service === 'smb' && e.event === 'auth_attempt' && e.fields.username === 'Administrator');
  assert.deepEqual([e.fields.domain, e.fields.workstation, e.fields.principal, e.fields.secret_kind, e.fields.success], ['CORP', 'ROGUE-WS', 'CORP\\Administrator', 'ntlmssp_v2', 'false']);
  const line = e.secret!.toString();
  assert.match(line, /^Administrator::CORP:[0-9a-f]{16}:[0-9a-f]{32}:[0-9a-f]+$/);
  assert.equal(line.split(':')[3], ch.serverChallenge.toString('hex'));
  assert.ok(verifyNetNtlmV2(line, 'Spring2025!').ok, 'the recorded hash cracks with the right password');
  assert.ok(!verifyNetNtlmV2(line, 'spring2025!').ok);
  const n = await win.waitForEvent((e) => e.event === 'negotiate' && e.fields.protocol === 'smb2');
  assert.deepEqual([n.fields.dialects, n.fields.chosen, n.fields.client_guid], ['2.0.2,2.1,3.0,3.0.2,3.1.1', '3.1.1', Buffer.from('0123456789abcdef').toString('hex')]);
});

test('Samba persona: stand-alone server names itself, version 6.1', async () => {
  const { challengeMsg } = await login(samba, 'backup', 'NAS-01', 'backup');
  const ch = parseChallenge(challengeMsg);
  assert.equal(ch.targetName, 'NAS-01');
  assert.deepEqual([ch.version.major, ch.version.minor], [6, 1]);
  const e = await samba.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'backup');
  assert.ok(verifyNetNtlmV2(e.secret!.toString(), 'backup').ok);
});

test('port 139: NetBIOS session request, SMB1 negotiate upgraded to SMB2 (0x02FF)', async () => {
  const name = (s: string, suffix: number): Buffer => {
    const raw = Buffer.alloc(16, 0x20);
    raw.write(s, 'latin1');
    raw[15] = suffix;
    const enc = Buffer.alloc(34);
    enc[0] = 32;
    for (let i = 0; i < 16; i++) {
      enc[1 + i * 2] = 0x41 + (raw[i]! >> 4);
      enc[2 + i * 2] = 0x41 + (raw[i]! & 0xf);
    }
    return enc;
  };
  const c = await RawTcp.open(win.ip, win.port('smb', 1));
  const req = Buffer.concat([name('*SMBSERVER', 0x20), name('EVIL-BOX', 0x00)]);
  c.write(Buffer.concat([Buffer.from([0x81, 0, 0, req.length]), req]));
  assert.deepEqual([...(await c.read(4))], [0x82, 0, 0, 0]);
  const dialects = Buffer.from('\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???\0', 'latin1');
  const smb1 = Buffer.alloc(35);
  smb1.writeUInt32LE(0x424d53ff, 0);
  smb1[4] = 0x72;
  smb1[32] = 0;
  smb1.writeUInt16LE(dialects.length, 33);
  const msg = Buffer.concat([smb1, dialects]);
  c.write(Buffer.concat([Buffer.from([0, 0, msg.length >> 8, msg.length & 0xff]), msg]));
  const r = await readSmb2(c);
  assert.equal(r.msg.readUInt16LE(64 + 4), 0x02ff);
  c.close();
  const s = await win.waitForEvent((e) => e.service === 'smb' && e.event === 'session_request');
  assert.deepEqual([s.fields.called_name, s.fields.calling_name], ['*SMBSERVER<20>', 'EVIL-BOX<00>']);
  const n = await win.waitForEvent((e) => e.event === 'negotiate' && e.fields.protocol === 'smb1');
  assert.equal(n.fields.dialects, 'NT LM 0.12,SMB 2.002,SMB 2.???');
});

test('SMB1-only clients are dropped; garbage and truncation do not hurt the server', async () => {
  const only1 = Buffer.from('\x02NT LM 0.12\0', 'latin1');
  const smb1 = Buffer.alloc(35);
  smb1.writeUInt32LE(0x424d53ff, 0);
  smb1[4] = 0x72;
  smb1.writeUInt16LE(only1.length, 33);
  const msg = Buffer.concat([smb1, only1]);
  const c = await RawTcp.open(win.ip, win.port('smb', 0));
  c.write(Buffer.concat([Buffer.from([0, 0, 0, msg.length]), msg]));
  assert.equal((await c.closed()).length, 0, 'closed without a reply');
  await sendGarbage(win.ip, win.port('smb', 0), Buffer.from('\x00\x00\x00\x10GARBAGEGARBAGE!!', 'latin1'));
  await sendGarbage(win.ip, win.port('smb', 0), Buffer.from([0x42, 0xff, 0xff, 0xff]));
  // A session setup whose security blob points outside the message, and a truncated negotiate.
  const t = await RawTcp.open(win.ip, win.port('smb', 0));
  t.write(smb2(0, negotiateRequest([0x0202])));
  await readSmb2(t);
  const bad = sessionSetup(Buffer.alloc(0));
  bad.writeUInt16LE(0xfff0, 12);
  bad.writeUInt16LE(0x00ff, 14);
  t.write(smb2(1, bad));
  assert.equal((await readSmb2(t)).status, 0xc000000d, 'STATUS_INVALID_PARAMETER');
  t.write(smb2(0, negotiateRequest([0x0311])).subarray(0, 40));
  t.close();
  await win.waitForEvent((e) => e.service === 'smb' && e.event === 'payload' && e.fields.reason === 'not_smb');
  const { finalStatus } = await login(win, 'after', 'CORP', 'x');
  assert.equal(finalStatus, 0xc000006d);
});
