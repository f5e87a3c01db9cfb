import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { RawTcp, sendGarbage } from './net-support.ts';

let d: TestDecky;
before(async () => {
  d = await startTestDecky({ services: ['modbus'], persona: { archetype: 'industrial-control', osFamily: 'embedded' } });
});
after(() => d.stop());

let tid = 0;
/** Sends one request PDU and returns the response PDU (after checking the MBAP echo). */
async function call(c: RawTcp, unit: number, pdu: number[] | Buffer): Promise<Buffer> {
  const body = Buffer.from(pdu);
  const mbap = Buffer.alloc(7);
  const id = ++tid & 0xffff;
  mbap.writeUInt16BE(id, 0);
  mbap.writeUInt16BE(0, 2);
  mbap.writeUInt16BE(body.length + 1, 4);
  mbap[6] = unit;
  c.write(Buffer.concat([mbap, body]));
  const head = await c.read(7);
  assert.equal(head.readUInt16BE(0), id, 'transaction id echoed');
  assert.equal(head.readUInt16BE(2), 0);
  assert.equal(head[6], unit);
  return c.read(head.readUInt16BE(4) - 1);
}

test('device identification names the persona vendor and product', async () => {
  const c = await RawTcp.open(d.ip, d.port('modbus'));
  const r = await call(c, 1, [43, 0x0e, 1, 0]);
  assert.equal(r[0], 43);
  assert.equal(r[1], 0x0e);
  assert.equal(r[6], 3, 'basic identification has three objects');
  const objects: string[] = [];
  let pos = 7;
  for (let i = 0; i < r[6]!; i++) {
    const len = r[pos + 1]!;
    objects.push(r.subarray(pos + 2, pos + 2 + len).toString('latin1'));
    pos += 2 + len;
  }
  assert.deepEqual(objects, ['Schneider Electric', 'BMX P34 2020', 'v3.10']);
  const regular = await call(c, 1, [43, 0x0e, 2, 0]);
  assert.equal(regular[6], 6);
  assert.ok(regular.includes(Buffer.from('Modicon M340')));
  c.close();
  const e = await d.waitForEvent((e) => e.service === 'modbus' && e.fields.function === 'read_device_identification');
  assert.equal(e.fields.unit_id, '1');
  assert.equal(e.fields.read_code, '1');
});

test('reads, writes and exceptions are answered per the spec and recorded', async () => {
  const c = await RawTcp.open(d.ip, d.port('modbus'));
  const regs = await call(c, 1, [3, 0, 0, 0, 10]);
  assert.equal(regs[0], 3);
  assert.equal(regs[1], 20);
  const r = await call(c, 1, [6, 0, 4, 0x12, 0x34]);
  assert.deepEqual([...r], [6, 0, 4, 0x12, 0x34]);
  const coils = await call(c, 7, [15, 0, 10, 0, 10, 2, 0b10100101, 0b11]);
  assert.deepEqual([...coils], [15, 0, 10, 0, 10]);
  const bad = await call(c, 1, [3, 0x7f, 0xff, 0, 2]);
  assert.deepEqual([...bad], [0x83, 2], 'illegal data address');
  const badQty = await call(c, 1, [1, 0, 0, 0x07, 0xd1]);
  assert.deepEqual([...badQty], [0x81, 3], 'illegal data value for 2001 coils');
  const unknown = await call(c, 1, [0x5a, 0, 1]);
  assert.deepEqual([...unknown], [0xda, 1], 'illegal function');
  c.close();

  // The write is visible to a later connection: the model is per decky.
  const c2 = await RawTcp.open(d.ip, d.port('modbus'));
  const back = await call(c2, 1, [3, 0, 4, 0, 1]);
  assert.equal(back.readUInt16BE(2), 0x1234);
  const bits = await call(c2, 1, [1, 0, 10, 0, 10]);
  assert.deepEqual([...bits], [1, 2, 0b10100101, 0b11]);
  c2.close();

  const w = await d.waitForEvent((e) => e.service === 'modbus' && e.event === 'write' && e.fields.fc === '6');
  assert.deepEqual(
    { f: w.fields.function, unit: w.fields.unit_id, a: w.fields.address, n: w.fields.count, v: w.fields.values },
    { f: 'write_single_register', unit: '1', a: '4', n: '1', v: String(0x1234) },
  );
  const wc = await d.waitForEvent((e) => e.event === 'write' && e.fields.fc === '15');
  assert.equal(wc.fields.unit_id, '7');
  assert.equal(wc.fields.values, '1,0,1,0,0,1,0,1,1,1');
  const rd = await d.waitForEvent((e) => e.event === 'request' && e.fields.fc === '3' && e.fields.address === '0');
  assert.equal(rd.fields.count, '10');
  await d.waitForEvent((e) => e.event === 'request' && e.fields.fc === '3' && e.fields.exception === '2');
});

test('bad framing gets an illegal-function exception like a real controller; the server keeps serving', async () => {
  const g = await RawTcp.open(d.ip, d.port('modbus'));
  g.write('GET / HTTP/1.0\r\n\r\n');
  assert.equal((await g.read(9)).toString('latin1'), 'GET \0\x03H\xd4\x01');
  g.write('\r\n\r\n'); // shorter than a header: answered once the sender stops
  assert.equal((await g.read(9)).toString('latin1'), '\r\n\r\n\0\x03\0\x80\x01');
  g.close();
  await d.waitForEvent((e) => e.service === 'modbus' && e.event === 'payload' && e.fields.reason === 'bad_mbap');
  await d.waitForEvent((e) => e.service === 'modbus' && e.event === 'payload' && e.fields.reason === 'short_frame');
  await sendGarbage(d.ip, d.port('modbus'), Buffer.alloc(3000, 0xff));
  const t = await RawTcp.open(d.ip, d.port('modbus'));
  t.write(Buffer.from([0, 1, 0, 0, 0, 6, 1, 3])); // truncated request, then hang up
  t.close();
  const c = await RawTcp.open(d.ip, d.port('modbus'));
  const r = await call(c, 1, [4, 0, 0, 0, 2]);
  assert.equal(r[0], 4);
  assert.equal(r[1], 4);
  c.close();
});
