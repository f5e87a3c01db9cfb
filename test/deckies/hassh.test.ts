// HASSH: the published fingerprint of a known client, and the sniffer that finds the client's
// KEXINIT in the first bytes of a connection, whatever the chunking, bounded on hostile input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientHelloSniffer, encodeKexInit, hasshOf, parseKexInit, KexInitError } from '../../src/deckies/hassh.ts';

// OpenSSH 7.8 client (salesforce/hassh fingerprint database): hassh ec7378c1a92f5a8dde7e8b7a1ddf33d1.
const OPENSSH_78 = {
  kex: 'curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,ext-info-c'.split(','),
  hostKey: 'ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256,ssh-rsa'.split(','),
  enc: 'chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com'.split(','),
  mac: 'umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1'.split(','),
  cmp: ['none', 'zlib@openssh.com', 'zlib'],
};

function kexinit(): Buffer {
  const k = OPENSSH_78;
  return encodeKexInit({ kex: k.kex, hostKey: k.hostKey, encC2S: k.enc, encS2C: k.enc, macC2S: k.mac, macS2C: k.mac, cmpC2S: k.cmp, cmpS2C: k.cmp, langC2S: [], langS2C: [] });
}

/** Frames a payload as an SSH binary packet (block-aligned padding, no MAC). */
function packet(payload: Buffer): Buffer {
  let pad = 8 - ((payload.length + 5) % 8);
  if (pad < 4) pad += 8;
  const len = Buffer.alloc(5);
  len.writeUInt32BE(payload.length + pad + 1);
  len[4] = pad;
  return Buffer.concat([len, payload, Buffer.alloc(pad)]);
}

test('the HASSH of a known OpenSSH 7.8 KEXINIT is the published value', () => {
  const parsed = parseKexInit(kexinit());
  const h = hasshOf(parsed);
  assert.equal(h.hassh, 'ec7378c1a92f5a8dde7e8b7a1ddf33d1');
  assert.equal(h.algorithms, [OPENSSH_78.kex, OPENSSH_78.enc, OPENSSH_78.mac, OPENSSH_78.cmp].map((l) => l.join(',')).join(';'));
  assert.deepEqual(parsed.hostKey, OPENSSH_78.hostKey);
  assert.equal(parsed.firstKexFollows, false);
});

test('the sniffer finds ident and KEXINIT when bytes arrive one at a time', () => {
  const stream = Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_7.8\r\n'), packet(kexinit()), Buffer.from('trailing encrypted bytes')]);
  const sniffer = new ClientHelloSniffer();
  let hello;
  for (let i = 0; i < stream.length; i++) {
    const r = sniffer.push(stream.subarray(i, i + 1));
    if (r) hello = r;
  }
  assert.ok(hello, 'hello parsed');
  assert.equal(hello.clientVersion, 'SSH-2.0-OpenSSH_7.8');
  assert.equal(hello.hassh?.hassh, 'ec7378c1a92f5a8dde7e8b7a1ddf33d1');
  assert.equal(sniffer.done, true);
  assert.equal(sniffer.error, undefined);
});

test('non-SSH input, oversized packets and broken name-lists end the sniffer with a reason', () => {
  const http = new ClientHelloSniffer();
  assert.equal(http.push(Buffer.from('GET / HTTP/1.0\r\n\r\n')), undefined);
  assert.equal(http.done, true);
  assert.match(http.error ?? '', /not an SSH identification/);
  assert.match(http.head.toString(), /^GET \//);

  const longIdent = new ClientHelloSniffer();
  longIdent.push(Buffer.from('SSH-2.0-' + 'A'.repeat(400)));
  assert.equal(longIdent.done, true);
  assert.match(longIdent.error ?? '', /too long/);

  const huge = new ClientHelloSniffer();
  const hdr = Buffer.alloc(5);
  hdr.writeUInt32BE(10_000_000);
  huge.push(Buffer.concat([Buffer.from('SSH-2.0-x\r\n'), hdr]));
  assert.equal(huge.done, true);
  assert.match(huge.error ?? '', /bad packet length/);
  assert.equal(huge.clientVersion, 'SSH-2.0-x');

  const broken = Buffer.from(kexinit());
  broken.writeUInt32BE(0xffffff, 17); // first name-list claims 16 MB
  assert.throws(() => parseKexInit(broken), KexInitError);
  const sniffer = new ClientHelloSniffer();
  assert.equal(sniffer.push(Buffer.concat([Buffer.from('SSH-2.0-x\n'), packet(broken)])), undefined);
  assert.equal(sniffer.done, true);
  assert.match(sniffer.error ?? '', /out of bounds/);
});
