// Bounded, readable renderings of attacker-supplied HTTP data for event fields. The event writer escapes
// whatever it gets; these helpers keep values short and make binary visible (\xHH) instead of mangled.

/** Text with non-printable bytes as \xHH (and backslash doubled), cut to `max` output characters. */
export function printable(data: Buffer | string, max: number): string {
  const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  let out = '';
  for (let i = 0; i < buf.length && out.length < max; i++) {
    const c = buf[i]!;
    if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else if (c >= 0x80) {
      // Keep valid UTF-8 sequences readable.
      const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      const seq = buf.subarray(i, i + len);
      const text = len > 1 && seq.length === len ? seq.toString('utf8') : '';
      if (text && !text.includes('\ufffd')) {
        out += text;
        i += len - 1;
      } else out += `\\x${c.toString(16).padStart(2, '0')}`;
    } else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out.length > max ? out.slice(0, max) : out;
}

export function capText(s: string | undefined, max: number): string | undefined {
  if (s === undefined) return undefined;
  return s.length > max ? s.slice(0, max) : s;
}

/** Bytes `s` occupies once the event writer escapes it (RFC 5424 PARAM-VALUE escapes ", \\ and ]). */
function escapedBytes(s: string): number {
  return Buffer.byteLength(s) + (s.match(/["\\\]]/g)?.length ?? 0);
}

/** Headers as a JSON object in wire order (repeated names joined with ", "), at most `maxBytes` long once
 * escaped for the event line (so the writer never cuts the JSON); headers that do not fit are dropped and
 * counted under "_dropped". */
export function headersJson(headers: ReadonlyArray<readonly [string, string]>, maxBytes: number): string {
  const merged = new Map<string, string>();
  for (const [k, v] of headers) {
    const prev = merged.get(k);
    merged.set(k, prev === undefined ? v : `${prev}, ${v}`);
  }
  const obj: Record<string, string> = {};
  let size = 2;
  let dropped = 0;
  for (const [k, v] of merged) {
    const value = v.length > 1024 ? v.slice(0, 1024) : v;
    const cost = escapedBytes(JSON.stringify(k)) + escapedBytes(JSON.stringify(value)) + 2;
    if (size + cost > maxBytes - 24) {
      dropped++;
      continue;
    }
    obj[k] = value;
    size += cost;
  }
  if (dropped > 0) obj._dropped = String(dropped);
  return JSON.stringify(obj);
}
