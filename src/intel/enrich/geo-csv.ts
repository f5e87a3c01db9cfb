// Parsing an ip-location-db "-num" CSV (`start,end,value…`, numeric addresses, rows in start
// order) into an in-memory table: a country table (two-letter codes) or an AS table (numbers and
// organisation names). geo-file.ts stores the result compactly for look-ups.
import { ConfigError } from '../../core/errors.ts';
import { PackedStrings, StringPool, UnorderedError, V4Builder, V4Ranges, V6Builder, V6Ranges, countLines, csvFields, forEachLine, parseDecimal } from './range-table.ts';

export interface CountryTable {
  kind: 'country';
  ranges: V4Ranges | V6Ranges;
}

export interface AsnTable {
  kind: 'asn';
  ranges: V4Ranges | V6Ranges;
  /** AS numbers, sorted, and the id of each one's name in `names`. */
  asns: Uint32Array;
  nameIds: Uint32Array;
  names: PackedStrings;
}

export type CsvTable = CountryTable | AsnTable;

function bad(path: string, lineNo: number, why: string): Error {
  return new ConfigError(`${path}:${lineNo}: ${why}; expected start,end,value with numeric addresses (an ip-location-db "-num" CSV)`);
}

/** The parsed start, end and the offset of the value field of the current line (reused: no allocation per line). */
const row = { s4: 0, e4: 0, s6: 0n, e6: 0n, rest: 0 };

function parseRange(buf: Buffer, start: number, end: number, family: 4 | 6, path: string, lineNo: number): void {
  const c1 = buf.indexOf(0x2c, start);
  const c2 = c1 < 0 || c1 >= end ? -1 : buf.indexOf(0x2c, c1 + 1);
  if (c1 < 0 || c2 < 0 || c2 >= end) throw bad(path, lineNo, 'fewer than three fields');
  row.rest = c2 + 1;
  if (family === 4) {
    row.s4 = parseDecimal(buf, start, c1);
    row.e4 = parseDecimal(buf, c1 + 1, c2);
    if (row.s4 < 0 || row.e4 < 0 || row.s4 > 0xffffffff || row.e4 > 0xffffffff || row.e4 < row.s4) throw bad(path, lineNo, 'not an IPv4 range');
    return;
  }
  const st = buf.toString('latin1', start, c1);
  const et = buf.toString('latin1', c1 + 1, c2);
  if (!/^\d{1,39}$/.test(st) || !/^\d{1,39}$/.test(et)) throw bad(path, lineNo, 'not an IPv6 range');
  row.s6 = BigInt(st);
  row.e6 = BigInt(et);
  if (row.e6 < row.s6 || row.e6 >= 1n << 128n) throw bad(path, lineNo, 'not an IPv6 range');
}

type Builder = { family: 4; b: V4Builder } | { family: 6; b: V6Builder };

function builderFor(family: 4 | 6, rows: number): Builder {
  return family === 4 ? { family, b: new V4Builder(rows) } : { family, b: new V6Builder(rows) };
}

function addRow(builder: Builder, value: number, path: string, lineNo: number): void {
  try {
    if (builder.family === 4) builder.b.add(row.s4, row.e4, value);
    else builder.b.add(row.s6, row.e6, value);
  } catch (err) {
    if (err instanceof UnorderedError) throw bad(path, lineNo, 'the rows are not sorted by their start address');
    throw err;
  }
}

export async function loadCountry(path: string, family: 4 | 6): Promise<CountryTable> {
  const builder = builderFor(family, countLines(path));
  await forEachLine(path, (buf, start, end, lineNo) => {
    parseRange(buf, start, end, family, path, lineNo);
    const at = row.rest;
    if (end - at !== 2) throw bad(path, lineNo, 'the country is not a two-letter code');
    const a = buf[at]!;
    const b = buf[at + 1]!;
    if (a < 0x41 || a > 0x5a || b < 0x41 || b > 0x5a) throw bad(path, lineNo, 'the country is not a two-letter code');
    addRow(builder, (a << 8) | b, path, lineNo);
  });
  return { kind: 'country', ranges: builder.family === 4 ? builder.b.build() : builder.b.build() };
}

export async function loadAsn(path: string, family: 4 | 6): Promise<AsnTable> {
  const builder = builderFor(family, countLines(path));
  const pool = new StringPool();
  // One name per AS number (the first one seen).
  const nameOf = new Map<number, number>();
  await forEachLine(path, (buf, start, end, lineNo) => {
    parseRange(buf, start, end, family, path, lineNo);
    const at = row.rest;
    const comma = buf.indexOf(0x2c, at);
    const asnEnd = comma < 0 || comma > end ? end : comma;
    const asn = parseDecimal(buf, at, asnEnd);
    if (asn < 0 || asn > 0xffffffff) throw bad(path, lineNo, 'the AS number is not a number');
    if (!nameOf.has(asn)) {
      const name = asnEnd < end ? (csvFields(buf, asnEnd + 1, end)[0] ?? '') : '';
      nameOf.set(asn, pool.add(name.slice(0, 256)));
    }
    addRow(builder, asn, path, lineNo);
  });
  const asns = Uint32Array.from(nameOf.keys()).sort();
  const nameIds = new Uint32Array(asns.length);
  for (let i = 0; i < asns.length; i++) nameIds[i] = nameOf.get(asns[i]!)!;
  return { kind: 'asn', ranges: builder.family === 4 ? builder.b.build() : builder.b.build(), asns, nameIds, names: pool.freeze() };
}
