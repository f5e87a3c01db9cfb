import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { asInt, decode, int, seq, str, tlv } from './ber-support.ts';
import { RawTcp, sendGarbage } from './net-support.ts';
import { ntlmAuthenticate, ntlmNegotiate, parseChallenge, verifyNetNtlmV2 } from './ntlm-client.ts';

let win: TestDecky;
let lin: TestDecky;
let legacy: TestDecky;
before(async () => {
  win = await startTestDecky({ services: ['rdp'], persona: { hostname: 'WKS-042', osFamily: 'windows', distro: 'win10', archetype: 'windows-workstation' } });
  lin = await startTestDecky({ services: ['rdp'], persona: { hostname: 'jump01', distro: 'ubuntu22' } });
  legacy = await startTestDecky({ services: [{ name: 'rdp', config: { nla: 'false' } }], persona: { hostname: 'TS01', osFamily: 'windows', distro: 'win2016', archetype: 'windows-server' } });
});
after(async () => {
  await win.stop();
  await lin.stop();
  await legacy.stop();
});

function connectionRequest(cookie: string | undefined, protocols: number | undefined): Buffer {
  const parts: Buffer[] = [];
  if (cookie !== undefined) parts.push(Buffer.from(`Cookie: mstshash=${cookie}\r\n`, 'latin1'));
  if (protocols !== undefined) {
    const neg = Buffer.from([1, 0, 8, 0, 0, 0, 0, 0]);
    neg.writeUInt32LE(protocols, 4);
    parts.push(neg);
  }
  const variable = Buffer.concat(parts);
  const x224 = Buffer.concat([Buffer.from([6 + variable.length, 0xe0, 0, 0, 0, 0, 0]), variable]);
  const head = Buffer.from([3, 0, 0, 0]);
  head.writeUInt16BE(4 + x224.length, 2);
  return Buffer.concat([head, x224]);
}

/** An MCS Connect Initial whose GCC user data holds a client core block naming the client. */
function mcsConnectInitial(clientName: string): Buffer {
  const core = Buffer.alloc(216);
  core.writeUInt16LE(0xc001, 0);
  core.writeUInt16LE(216, 2);
  core.writeUInt32LE(0x00080004, 4);
  core.writeUInt16LE(1920, 8);
  core.writeUInt16LE(1080, 10);
  core.writeUInt32LE(0x00000409, 16);
  core.writeUInt32LE(2600, 20);
  Buffer.from(clientName, 'utf16le').copy(core, 24);
  const gcc = Buffer.concat([Buffer.from('000500147c00018180', 'hex'), core]);
  const body = Buffer.concat([Buffer.from([0x7f, 0x65, 0x82, (gcc.length + 20) >> 8, (gcc.length + 20) & 0xff]), Buffer.alloc(16), Buffer.from([0x04, 0x82, gcc.length >> 8, gcc.length & 0xff]), gcc]);
  const x224 = Buffer.from([2, 0xf0, 0x80]);
  const head = Buffer.from([3, 0, 0, 0]);
  head.writeUInt16BE(4 + x224.length + body.length, 2);
  return Buffer.concat([head, x224, body]);
}

test("nmap's cookie probe gets Windows' exact answer: HYBRID with flags 0x1f", async () => {
  const c = await RawTcp.open(win.ip, win.port('rdp'));
  c.write(Buffer.from('\x03\0\0*%\xe0\0\0\0\0\0Cookie: mstshash=nmap\r\n\x01\0\x08\0\x03\0\0\0', 'latin1'));
  assert.equal((await c.read(19)).toString('hex'), '030000130ed00000123400021f080002000000');
  c.close();
  const e = await win.waitForEvent((e) => e.service === 'rdp' && e.event === 'connect_request');
  assert.deepEqual([e.fields.username, e.fields.requested_protocols, e.fields.selected], ['nmap', 'ssl,hybrid', 'hybrid']);
});

test('NLA required: a client offering only TLS gets HYBRID_REQUIRED_BY_SERVER', async () => {
  const c = await RawTcp.open(win.ip, win.port('rdp'));
  c.write(connectionRequest('admin', 1));
  const r = await c.read(19);
  assert.equal(r[11], 0x03, 'RDP_NEG_FAILURE');
  assert.equal(r.readUInt32LE(15), 5);
  await c.closed();
  await win.waitForEvent((e) => e.event === 'connect_request' && e.fields.username === 'admin' && e.fields.failure_code === '5');
});

async function tlsOver(c: RawTcp): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ socket: c.socket, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
}

async function readDer(s: TLSSocket): Promise<Buffer> {
  let buf = Buffer.alloc(0);
  for (;;) {
    if (buf.length >= 2) {
      let len = buf[1]!;
      let hdr = 2;
      if (len & 0x80) {
        const n = len & 0x7f;
        if (buf.length < 2 + n) {
          buf = Buffer.concat([buf, await next(s)]);
          continue;
        }
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i]!;
        hdr = 2 + n;
      }
      if (buf.length >= hdr + len) return buf.subarray(0, hdr + len);
    }
    buf = Buffer.concat([buf, await next(s)]);
  }
}

function next(s: TLSSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timed out waiting for TLS data')), 3000);
    s.once('data', (d: Buffer) => {
      clearTimeout(t);
      resolve(d);
    });
  });
}

test('CredSSP over TLS: the NTLM exchange is recorded as a NetNTLMv2 line, then logon failure', async () => {
  const c = await RawTcp.open(win.ip, win.port('rdp'));
  c.write(connectionRequest('jdoe', 0x0b));
  const cc = await c.read(19);
  assert.equal(cc.readUInt32LE(15), 8, 'HYBRID_EX selected');
  const s = await tlsOver(c);
  const tsRequest = (...parts: Buffer[]): Buffer => seq(tlv(0xa0, int(6)), ...parts);
  s.write(tsRequest(tlv(0xa1, seq(seq(tlv(0xa0, str(ntlmNegotiate())))))));
  const [reply] = decode(await readDer(s));
  const token = reply!.children.find((n) => n.tag === 0xa1)!.children[0]!.children[0]!.children[0]!.children[0]!.value;
  const ch = parseChallenge(token);
  assert.equal(ch.targetName, 'CORP');
  assert.equal(ch.av.get(1)!.toString('utf16le'), 'WKS-042');
  assert.deepEqual(ch.version, { major: 10, minor: 0, build: 19045 });
  s.write(tsRequest(tlv(0xa1, seq(seq(tlv(0xa0, str(ntlmAuthenticate(ch, 'jdoe', 'CORP', 'LAPTOP-X', 'correct horse')))))), tlv(0xa3, str(Buffer.alloc(32, 1)))));
  const [fail] = decode(await readDer(s));
  const code = fail!.children.find((n) => n.tag === 0xa4)!.children[0]!;
  assert.equal(asInt(code) >>> 0, 0xc000006d);
  s.destroy();

  const e = await win.waitForEvent((e) => e.service === 'rdp' && e.event === 'auth_attempt' && e.fields.username === 'jdoe');
  assert.deepEqual([e.fields.domain, e.fields.workstation, e.fields.via, e.fields.pub_key_auth], ['CORP', 'LAPTOP-X', 'credssp', 'true']);
  assert.ok(verifyNetNtlmV2(e.secret!.toString(), 'correct horse').ok);
  const hello = await win.waitForEvent((e) => e.service === 'rdp' && e.event === 'tls_hello');
  assert.match(hello.fields.ja3 ?? '', /^[0-9a-f]{32}$/);
});

test('Linux persona answers like xrdp: TLS without NLA, then the client name is recorded', async () => {
  const c = await RawTcp.open(lin.ip, lin.port('rdp'));
  c.write(connectionRequest('root', 0x03));
  const cc = await c.read(19);
  assert.equal(cc.readUInt16BE(8), 0, 'xrdp source reference');
  assert.equal(cc.readUInt32LE(15), 1, 'SSL selected');
  const s = await tlsOver(c);
  s.write(mcsConnectInitial('KALI-BOX'));
  await new Promise((r) => s.once('close', r));
  const e = await lin.waitForEvent((e) => e.service === 'rdp' && e.event === 'client_info');
  assert.deepEqual([e.fields.client_name, e.fields.client_build, e.fields.keyboard_layout, e.fields.desktop], ['KALI-BOX', '2600', '0x00000409', '1920x1080']);
});

test('without NLA, a legacy client (no negotiation) reaches MCS; garbage is dropped', async () => {
  const c = await RawTcp.open(legacy.ip, legacy.port('rdp'));
  c.write(connectionRequest(undefined, undefined));
  assert.equal((await c.read(11)).toString('hex'), '0300000b06d00000123400');
  c.write(mcsConnectInitial('OLDCLIENT'));
  await c.closed();
  await legacy.waitForEvent((e) => e.event === 'client_info' && e.fields.client_name === 'OLDCLIENT');
  await sendGarbage(legacy.ip, legacy.port('rdp'), Buffer.from('SSH-2.0-OpenSSH_9.6\r\n'));
  await legacy.waitForEvent((e) => e.service === 'rdp' && e.event === 'payload' && e.fields.reason === 'not_tpkt');
  const t = await RawTcp.open(legacy.ip, legacy.port('rdp'));
  t.write(connectionRequest('x', 3).subarray(0, 9));
  t.close();
  const ok = await RawTcp.open(legacy.ip, legacy.port('rdp'));
  ok.write(connectionRequest('y', 3));
  assert.equal((await ok.read(19)).readUInt32LE(15), 2);
  ok.close();
});
