// A minimal BER encoder/decoder for the tests' raw SNMP, LDAP and CredSSP clients, written apart
// from src/deckies/proto/ber.ts so the decoys are checked against an independent implementation.

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Buffer.from([0x80 | out.length, ...out]);
}

export const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
export const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
export const str = (s: string | Buffer, tag = 0x04): Buffer => tlv(tag, Buffer.from(s));
export function int(n: number, tag = 0x02): Buffer {
  const out: number[] = [];
  let v = n;
  for (;;) {
    out.unshift(v & 0xff);
    const done = (v >= -128 && v <= 127);
    v = Math.floor(v / 256);
    if (done) break;
  }
  return tlv(tag, Buffer.from(out));
}
export function oid(dotted: string): Buffer {
  const a = dotted.split('.').map(Number);
  const out: number[] = [a[0]! * 40 + a[1]!];
  for (const n of a.slice(2)) {
    const tmp = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) tmp.unshift((v & 0x7f) | 0x80);
    out.push(...tmp);
  }
  return tlv(0x06, Buffer.from(out));
}

export interface Node {
  tag: number;
  value: Buffer;
  children: Node[];
}

/** Decodes every element in `buf`; constructed elements (bit 0x20) are decoded recursively. */
export function decode(buf: Buffer): Node[] {
  const out: Node[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = buf[pos++]!;
    let l = buf[pos++]!;
    if (l & 0x80) {
      const n = l & 0x7f;
      l = 0;
      for (let i = 0; i < n; i++) l = l * 256 + buf[pos++]!;
    }
    const value = buf.subarray(pos, pos + l);
    if (value.length !== l) throw new Error('truncated BER in a response');
    pos += l;
    out.push({ tag, value, children: tag & 0x20 ? decode(value) : [] });
  }
  return out;
}

export const asInt = (n: Node): number => {
  let v = n.value[0]! & 0x80 ? -1 : 0;
  for (const b of n.value) v = v * 256 + b;
  return v;
};
export function asOid(n: Node): string {
  const arcs: number[] = [];
  let v = 0;
  for (const b of n.value) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (arcs.length === 0) arcs.push(Math.floor(v / 40), v % 40);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}
