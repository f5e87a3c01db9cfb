// Builds TLS ClientHello records from field lists, for fingerprint tests (a test helper, not a test file).

export interface HelloSpec {
  legacyVersion?: number;
  ciphers: number[];
  /** Extensions in wire order; data is generated for the ones the fingerprint reads, empty otherwise. */
  extensions: number[];
  serverName?: string;
  alpn?: string[];
  groups?: number[];
  pointFormats?: number[];
  signatureAlgorithms?: number[];
  supportedVersions?: number[];
  /** Split the handshake message over records of at most this many bytes. */
  recordSize?: number;
}

const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
const list16 = (items: number[]): Buffer => Buffer.concat([u16(items.length * 2), ...items.map(u16)]);

function extensionData(type: number, s: HelloSpec): Buffer {
  switch (type) {
    case 0x0000: {
      const name = Buffer.from(s.serverName ?? 'example.com');
      const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
      return Buffer.concat([u16(entry.length), entry]);
    }
    case 0x0010: {
      const names = Buffer.concat((s.alpn ?? []).map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])));
      return Buffer.concat([u16(names.length), names]);
    }
    case 0x000a:
      return list16(s.groups ?? []);
    case 0x000b:
      return Buffer.from([(s.pointFormats ?? []).length, ...(s.pointFormats ?? [])]);
    case 0x000d:
      return list16(s.signatureAlgorithms ?? []);
    case 0x002b: {
      const v = s.supportedVersions ?? [];
      return Buffer.concat([Buffer.from([v.length * 2]), ...v.map(u16)]);
    }
    default:
      return Buffer.alloc(0);
  }
}

export function buildClientHello(s: HelloSpec): Buffer {
  const exts = Buffer.concat(s.extensions.map((t) => {
    const d = extensionData(t, s);
    return Buffer.concat([u16(t), u16(d.length), d]);
  }));
  const body = Buffer.concat([
    u16(s.legacyVersion ?? 0x0303),
    Buffer.alloc(32, 7),
    Buffer.from([32]), Buffer.alloc(32, 9),
    list16(s.ciphers),
    Buffer.from([1, 0]),
    u16(exts.length), exts,
  ]);
  const msg = Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  const size = s.recordSize ?? 16384;
  const records: Buffer[] = [];
  for (let o = 0; o < msg.length; o += size) {
    const frag = msg.subarray(o, o + size);
    records.push(Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(frag.length), frag]));
  }
  return Buffer.concat(records);
}
