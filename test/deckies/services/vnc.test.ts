import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { RawTcp, sendGarbage } from './net-support.ts';

// VNC authentication: DES-ECB of the challenge keyed by the password with each byte's bits mirrored.
// OpenSSL 3 only offers single DES through the legacy provider; triple DES with K|K|K is the same cipher.
function vncResponse(password: string, challenge: Buffer): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i]!;
    let r = 0;
    for (let j = 0; j < 8; j++) r |= ((b >> j) & 1) << (7 - j);
    key[i] = r;
    b = r;
  }
  const c = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(challenge), c.final()]);
}

let d: TestDecky;
before(async () => {
  d = await startTestDecky({ services: ['vnc'] });
});
after(() => d.stop());

test('RFB 3.8: VNC auth challenge and DES response are recorded, then failure', async () => {
  const c = await RawTcp.open(d.ip, d.port('vnc'));
  assert.equal((await c.read(12)).toString(), 'RFB 003.008\n');
  c.write('RFB 003.008\n');
  assert.deepEqual([...(await c.read(2))], [1, 2]);
  c.write(Buffer.from([2]));
  const challenge = await c.read(16);
  const response = vncResponse('s3cret', challenge);
  c.write(response);
  const result = await c.read(4);
  assert.equal(result.readUInt32BE(0), 1);
  const len = (await c.read(4)).readUInt32BE(0);
  assert.equal((await c.read(len)).toString(), 'Authentication failed');
  c.close();

  const e = await d.waitForEvent((e) => e.service === 'vnc' && e.event === 'auth_attempt');
  assert.equal(e.fields.challenge, challenge.toString('hex'));
  assert.equal(e.fields.response, response.toString('hex'));
  assert.equal(e.fields.client_version, '003.008');
  assert.equal(e.fields.success, 'false');
  assert.equal(e.secret!.toString(), `$vnc$*${challenge.toString('hex').toUpperCase()}*${response.toString('hex').toUpperCase()}`);
  // The recorded pair verifies against the password (what an offline cracker does).
  assert.deepEqual(vncResponse('s3cret', Buffer.from(e.fields.challenge!, 'hex')), Buffer.from(e.fields.response!, 'hex'));
  const hs = await d.waitForEvent((e) => e.service === 'vnc' && e.event === 'handshake');
  assert.equal(hs.fields.protocol, '3.8');
});

test('RFB 3.3 client: the server picks VNC auth itself and fails without a reason string', async () => {
  const c = await RawTcp.open(d.ip, d.port('vnc'));
  await c.read(12);
  c.write('RFB 003.003\n');
  assert.equal((await c.read(4)).readUInt32BE(0), 2);
  const challenge = await c.read(16);
  c.write(vncResponse('x', challenge));
  assert.equal((await c.read(4)).readUInt32BE(0), 1);
  assert.equal((await c.closed()).length, 0);
  await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.client_version === '003.003');
});

test('garbage and truncated input do not hurt the server', async () => {
  await sendGarbage(d.ip, d.port('vnc'), Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  await d.waitForEvent((e) => e.service === 'vnc' && e.event === 'payload' && e.fields.stage === 'version');
  const t = await RawTcp.open(d.ip, d.port('vnc'));
  await t.read(12);
  t.write('RFB 003.0'); // truncated version, then hang up
  t.close();
  // An honest client still gets the full handshake.
  const c = await RawTcp.open(d.ip, d.port('vnc'));
  assert.equal((await c.read(12)).toString(), 'RFB 003.008\n');
  c.write('RFB 003.008\n');
  assert.deepEqual([...(await c.read(2))], [1, 2]);
  c.close();
});

test('a source that keeps failing is locked out with "Too many authentication failures"', async () => {
  const d2 = await startTestDecky({ services: ['vnc'] });
  try {
    for (let i = 0; i < 5; i++) {
      const c = await RawTcp.open(d2.ip, d2.port('vnc'));
      await c.read(12);
      c.write('RFB 003.008\n');
      await c.read(2);
      c.write(Buffer.from([2]));
      c.write(vncResponse('guess' + i, await c.read(16)));
      assert.equal((await c.read(4)).readUInt32BE(0), 1);
      c.close();
    }
    const c = await RawTcp.open(d2.ip, d2.port('vnc'));
    await c.read(12);
    c.write('RFB 003.008\n');
    assert.equal((await c.read(1))[0], 0, 'no security types offered');
    const len = (await c.read(4)).readUInt32BE(0);
    assert.equal((await c.read(len)).toString(), 'Too many authentication failures');
    c.close();
    await d2.waitForEvent((e) => e.event === 'auth_blocked');
  } finally {
    await d2.stop();
  }
});
