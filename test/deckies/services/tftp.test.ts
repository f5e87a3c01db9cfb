import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { RawUdp } from './net-support.ts';

let d: TestDecky;
before(async () => {
  d = await startTestDecky({ services: ['tftp'], name: 'core-sw1' });
});
after(() => d.stop());

const request = (op: number, file: string, mode = 'octet', opts: Record<string, string> = {}): Buffer =>
  Buffer.concat([Buffer.from([0, op]), Buffer.from(`${file}\0${mode}\0${Object.entries(opts).map(([k, v]) => `${k}\0${v}\0`).join('')}`, 'latin1')]);
const ack = (n: number): Buffer => Buffer.from([0, 4, n >> 8, n & 0xff]);

async function download(c: RawUdp, file: string, opts: Record<string, string> = {}): Promise<{ data: Buffer; oack?: string }> {
  c.send(request(1, file, 'octet', opts), d.port('tftp'), d.ip);
  const parts: Buffer[] = [];
  let first = await c.receive();
  assert.notEqual(first.port, d.port('tftp'), 'the transfer runs on a new port');
  let oack: string | undefined;
  if (first.msg.readUInt16BE(0) === 6) {
    oack = first.msg.subarray(2).toString('latin1');
    c.send(ack(0), first.port, first.address);
    first = await c.receive();
  }
  let pkt = first;
  for (;;) {
    assert.equal(pkt.msg.readUInt16BE(0), 3, `expected DATA, got ${pkt.msg.toString('hex')}`);
    const n = pkt.msg.readUInt16BE(2);
    assert.equal(n, parts.length + 1);
    parts.push(pkt.msg.subarray(4));
    c.send(ack(n), pkt.port, pkt.address);
    if (pkt.msg.length - 4 < Number(opts.blksize ?? 512)) break;
    pkt = await c.receive();
  }
  return { data: Buffer.concat(parts), oack };
}

test('RRQ serves a bait config block by block, with and without options', async () => {
  const c = await RawUdp.open();
  const plain = await download(c, 'startup-config');
  assert.match(plain.data.toString(), /^hostname core-sw1-gw$/m);
  assert.match(plain.data.toString(), /enable secret 5 \$1\$/);
  const opt = await download(c, '/pxelinux.cfg/default', { blksize: '64', tsize: '0' });
  assert.ok(opt.oack!.includes('blksize\x0064\x00'), opt.oack);
  assert.ok(opt.oack!.includes(`tsize\x00${opt.data.length}\x00`), opt.oack);
  assert.match(opt.data.toString(), /PXE Boot Menu/);
  c.close();
  const req = await d.waitForEvent((e) => e.service === 'tftp' && e.event === 'request' && e.fields.filename === '/pxelinux.cfg/default');
  assert.deepEqual([req.fields.op, req.fields.mode, req.fields.options], ['read', 'octet', 'blksize=64,tsize=0']);
  const dl = await d.waitForEvent((e) => e.event === 'file_download' && e.fields.filename === 'startup-config');
  assert.equal(dl.fields.complete, 'true');
  assert.equal(dl.fields.bytes_sent, String(plain.data.length));
});

test('missing files, traversal and bad modes get the tftpd-hpa errors; unknown opcodes get silence', async () => {
  const c = await RawUdp.open();
  const errorOf = async (pkt: Buffer): Promise<[number, string]> => {
    c.send(pkt, d.port('tftp'), d.ip);
    const r = await c.receive();
    assert.equal(r.msg.readUInt16BE(0), 5);
    return [r.msg.readUInt16BE(2), r.msg.subarray(4, r.msg.length - 1).toString()];
  };
  assert.deepEqual(await errorOf(request(1, 'nope.bin')), [1, 'File not found']);
  assert.deepEqual(await errorOf(request(1, '../../etc/shadow')), [1, 'File not found']);
  assert.deepEqual(await errorOf(request(1, 'startup-config', 'mail')), [4, 'Unknown mode']);
  assert.deepEqual(await errorOf(Buffer.from([0, 1, 0x41, 0x41])), [4, 'Request not null-terminated']);
  // An unknown opcode is ignored: the next answer is the one for the request after it.
  c.send(Buffer.from([0, 9, 1, 2, 3]), d.port('tftp'), d.ip);
  assert.deepEqual(await errorOf(request(1, 'nothing-here')), [1, 'File not found']);
  c.close();
  await d.waitForEvent((e) => e.event === 'request' && e.fields.filename === '../../etc/shadow');
  await d.waitForEvent((e) => e.event === 'payload' && e.fields.reason === 'unknown_opcode' && e.fields.opcode === '9');
});

test('WRQ stores the upload in the quarantine and records its hash', async () => {
  const c = await RawUdp.open();
  const body = Buffer.alloc(1300);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  c.send(request(2, 'implant.bin'), d.port('tftp'), d.ip);
  let r = await c.receive();
  assert.deepEqual([...r.msg], [0, 4, 0, 0], 'ACK 0 from the transfer port');
  const tid = r.port;
  for (let n = 1; n <= 3; n++) {
    c.send(Buffer.concat([Buffer.from([0, 3, 0, n]), body.subarray((n - 1) * 512, n * 512)]), tid, d.ip);
    r = await c.receive();
    assert.deepEqual([...r.msg], [0, 4, 0, n]);
  }
  c.close();
  const e = await d.waitForEvent((e) => e.service === 'tftp' && e.event === 'file_upload');
  assert.equal(e.fields.filename, 'implant.bin');
  assert.equal(e.fields.size, '1300');
  assert.equal(e.fields.complete, 'true');
  assert.equal(e.fields.sha256, createHash('sha256').update(body).digest('hex'));
  assert.deepEqual(readFileSync(e.fields.stored_as!), body);
});

test('uploads beyond the cap are cut and refused with "Disk full"', async () => {
  const small = await startTestDecky({ services: [{ name: 'tftp', config: { max_upload: '600' } }] });
  try {
    const c = await RawUdp.open();
    c.send(request(2, 'big.bin'), small.port('tftp'), small.ip);
    const a0 = await c.receive();
    c.send(Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.alloc(512, 1)]), a0.port, small.ip);
    await c.receive();
    c.send(Buffer.concat([Buffer.from([0, 3, 0, 2]), Buffer.alloc(512, 2)]), a0.port, small.ip);
    const err = await c.receive();
    assert.equal(err.msg.readUInt16BE(0), 5);
    assert.equal(err.msg.readUInt16BE(2), 3);
    c.close();
    const e = await small.waitForEvent((e) => e.event === 'file_upload');
    assert.equal(e.fields.size, '600');
    assert.equal(e.fields.file_truncated, 'true');
  } finally {
    await small.stop();
  }
});
