// A small DNS client for the dns, llmnr and mdns decoy tests (independent of the decoy's codec).

export function query(id: number, name: string, type: number, opts: { cls?: number; flags?: number; edns?: Buffer[] } = {}): Buffer {
  const labels = name === '' ? [] : name.split('.');
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(opts.flags ?? 0x0100, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(opts.edns ? 1 : 0, 10);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(opts.cls ?? 1, 2);
  const parts = [head, qname, tail];
  if (opts.edns) {
    const optData = Buffer.concat(opts.edns);
    const opt = Buffer.alloc(11);
    opt[0] = 0;
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(1232, 3);
    opt.writeUInt16BE(optData.length, 9);
    parts.push(opt, optData);
  }
  return Buffer.concat(parts);
}

function readName(buf: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  for (let guard = 0; guard < 128; guard++) {
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    labels.push(buf.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
  }
  return [labels.join('.'), end];
}

export interface Rr {
  name: string;
  type: number;
  cls: number;
  ttl: number;
  data: Buffer;
  /** rdata decoded for the common types: address, name, text. */
  value: string;
}

export interface Response {
  id: number;
  flags: number;
  rcode: number;
  aa: boolean;
  tc: boolean;
  questions: { name: string; type: number; cls: number }[];
  answers: Rr[];
  authority: Rr[];
  additional: Rr[];
}

export function parse(buf: Buffer): Response {
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  let pos = 12;
  const questions: Response['questions'] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const [name, end] = readName(buf, pos);
    questions.push({ name, type: buf.readUInt16BE(end), cls: buf.readUInt16BE(end + 2) });
    pos = end + 4;
  }
  const sections: Rr[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const [name, end] = readName(buf, pos);
      const type = buf.readUInt16BE(end);
      const cls = buf.readUInt16BE(end + 2);
      const ttl = buf.readUInt32BE(end + 4);
      const len = buf.readUInt16BE(end + 8);
      const start = end + 10;
      const data = buf.subarray(start, start + len);
      let value = data.toString('hex');
      if (type === 1) value = [...data].join('.');
      else if (type === 5 || type === 2 || type === 12) value = readName(buf, start)[0];
      else if (type === 15) value = `${data.readUInt16BE(0)} ${readName(buf, start + 2)[0]}`;
      else if (type === 33) value = `${data.readUInt16BE(0)} ${data.readUInt16BE(2)} ${data.readUInt16BE(4)} ${readName(buf, start + 6)[0]}`;
      else if (type === 16) value = data.subarray(1, 1 + data[0]!).toString();
      else if (type === 6) value = `${readName(buf, start)[0]}`;
      sections[s]!.push({ name, type, cls, ttl, data, value });
      pos = start + len;
    }
  }
  return { id, flags, rcode: flags & 0xf, aa: (flags & 0x0400) !== 0, tc: (flags & 0x0200) !== 0, questions, answers: sections[0]!, authority: sections[1]!, additional: sections[2]! };
}
