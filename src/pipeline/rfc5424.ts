// The event line format (DESIGN §5): one RFC 5424 line per attacker interaction.
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [relay@55555 ts=".." decky=".." ...] MSG
//
// Facility local0, HOSTNAME = decky, APP-NAME = service, MSGID = event. Attacker text reaches
// PARAM-VALUEs and MSG, so the writer escapes it losslessly and the parser undoes exactly that:
// `"`, `\` and `]` get a backslash (RFC 5424 §6.3.3); control characters, C1 controls, the
// Unicode line/paragraph separators and lone surrogates become `\xHH` / `\uHHHH`, so no input can
// end the line or start a second record. Values and the whole line are capped in UTF-8 bytes.

export const SD_ID = 'relay@55555';
const FACILITY_LOCAL0 = 16;

export type Severity = 'emerg' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug';
const SEVERITIES: readonly Severity[] = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/** Per-value cap (UTF-8 bytes of the escaped value) and whole-line cap. */
export const MAX_VALUE_BYTES = 4096;
export const MAX_LINE_BYTES = 16384;
/** A captured secret is stored whole up to this many bytes (base64 in the line is 4/3 of it). */
export const MAX_SECRET_BYTES = 2048;
export const MAX_FIELDS = 64;

/** The params every line carries, in this order, before the event's own fields. */
export const FIXED_PARAMS = ['ts', 'decky', 'service', 'event', 'src_ip', 'src_port', 'dst_ip', 'dst_port'] as const;
/** Params the writer itself adds; an event may not use these names for its fields. */
const RESERVED = new Set<string>([...FIXED_PARAMS, 'secret_b64', 'truncated']);

export interface EventInput {
  /** ISO-8601 UTC; default now. */
  ts?: string;
  decky: string;
  service: string;
  event: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  fields?: Record<string, string | number | boolean | undefined | null>;
  secret?: string | Buffer;
  msg?: string;
  severity?: Severity;
}

export interface EventRecord {
  ts: string;
  decky: string;
  service: string;
  event: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  /** The event's own params (includes `truncated` when the writer had to cut values). */
  fields: Record<string, string>;
  secret?: Buffer;
  msg: string;
  severity: Severity;
  raw: string;
}

export class EventFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventFormatError';
  }
}

const PARAM_NAME = /^[!#-\\^-~]{1,32}$/; // printable ASCII without space, '"', '=' and ']'
const EVENT_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const HEADER_TOKEN = /^[!-~]{1,48}$/;
const HOSTNAME = /^[!-~]{1,255}$/;
const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/;

export function isValidParamName(name: string): boolean {
  return PARAM_NAME.test(name) && !name.includes('=');
}

export function isValidEventName(name: string): boolean {
  return EVENT_NAME.test(name);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function utf8Len(code: number): number {
  return code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
}

interface Escaped {
  text: string;
  bytes: number;
  truncated: boolean;
}

/** Escapes `value` for a PARAM-VALUE (sd = true) or MSG, stopping before `maxBytes` UTF-8 bytes. */
function escapeText(value: string, sd: boolean, maxBytes: number): Escaped {
  let out = '';
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    let piece: string;
    let len: number;
    let pair = false;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) {
      piece = '\\x' + hex2(c);
      len = 4;
    } else if (c === 0x5c || (sd && (c === 0x22 || c === 0x5d))) {
      piece = '\\' + value[i];
      len = 2;
    } else if (c === 0x2028 || c === 0x2029 || c === 0xfeff) {
      piece = '\\u' + c.toString(16).padStart(4, '0');
      len = 6;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        piece = value[i] + value[i + 1];
        len = 4;
        pair = true;
      } else {
        piece = '\\u' + c.toString(16);
        len = 6;
      }
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      piece = '\\u' + c.toString(16);
      len = 6;
    } else {
      piece = value[i];
      len = utf8Len(c);
    }
    if (bytes + len > maxBytes) return { text: out, bytes, truncated: true };
    out += piece;
    bytes += len;
    if (pair) i++; // a surrogate pair is two code units
  }
  return { text: out, bytes, truncated: false };
}

function headerToken(value: string, max: number): string {
  const cleaned = value.replace(/[^!-~]/g, '_').slice(0, max);
  return cleaned === '' ? '-' : cleaned;
}

function stringify(v: string | number | boolean): string {
  return typeof v === 'string' ? v : String(v);
}

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EventFormatError(`${name} must be an integer 0..65535, got ${port}`);
}

/**
 * Formats one event as an RFC 5424 line (without the trailing newline). Throws EventFormatError
 * for programmer errors (bad event name, bad or reserved field name, bad port); attacker-supplied
 * values never make it throw.
 */
export function formatEvent(input: EventInput): string {
  if (!isValidEventName(input.event)) throw new EventFormatError(`event name ${JSON.stringify(input.event)} must match [a-z][a-z0-9_]{0,31} (a dot-free verb)`);
  checkPort('src_port', input.src_port);
  checkPort('dst_port', input.dst_port);
  const severity = input.severity ?? 'info';
  const sevIndex = SEVERITIES.indexOf(severity);
  if (sevIndex < 0) throw new EventFormatError(`unknown severity ${JSON.stringify(severity)}`);
  const ts = input.ts ?? new Date().toISOString();
  if (!ISO_TS.test(ts)) throw new EventFormatError(`ts ${JSON.stringify(ts)} is not an RFC 3339 timestamp`);

  const entries: [string, string][] = [];
  if (input.fields) {
    for (const [k, v] of Object.entries(input.fields)) {
      if (v === undefined || v === null) continue;
      if (!isValidParamName(k)) throw new EventFormatError(`field name ${JSON.stringify(k)} is not a valid RFC 5424 PARAM-NAME (printable ASCII, no space = ] ", at most 32)`);
      if (RESERVED.has(k)) throw new EventFormatError(`field name ${JSON.stringify(k)} is reserved by the event format`);
      entries.push([k, stringify(v)]);
    }
  }
  const truncated: string[] = [];
  if (entries.length > MAX_FIELDS) {
    for (const [k] of entries.splice(MAX_FIELDS)) truncated.push(k);
  }

  const header = `<${FACILITY_LOCAL0 * 8 + sevIndex}>1 ${ts} ${headerToken(input.decky, 255)} ${headerToken(input.service, 48)} - ${input.event} [${SD_ID}`;
  let line = header;
  let bytes = Buffer.byteLength(header);
  // Room kept at the end of the line for `truncated="…"`, the closing bracket and a short MSG marker.
  const RESERVE = 600;
  const budget = MAX_LINE_BYTES - RESERVE;

  const addParam = (name: string, value: string, cap = MAX_VALUE_BYTES): void => {
    const overhead = name.length + 4; // space, '=', two quotes
    const room = Math.min(cap, budget - bytes - overhead);
    if (room <= 0) {
      truncated.push(name);
      return;
    }
    const e = escapeText(value, true, room);
    if (e.truncated) truncated.push(name);
    line += ` ${name}="${e.text}"`;
    bytes += overhead + e.bytes;
  };

  const fixed: Record<(typeof FIXED_PARAMS)[number], string> = {
    ts,
    decky: input.decky,
    service: input.service,
    event: input.event,
    src_ip: input.src_ip,
    src_port: String(input.src_port),
    dst_ip: input.dst_ip,
    dst_port: String(input.dst_port),
  };
  for (const name of FIXED_PARAMS) addParam(name, fixed[name], 255);
  if (input.secret !== undefined) {
    let secret = typeof input.secret === 'string' ? Buffer.from(input.secret, 'utf8') : input.secret;
    if (secret.length > MAX_SECRET_BYTES) {
      secret = secret.subarray(0, MAX_SECRET_BYTES);
      truncated.push('secret_b64');
    }
    addParam('secret_b64', secret.toString('base64'), MAX_VALUE_BYTES);
  }
  for (const [k, v] of entries) addParam(k, v);
  if (truncated.length > 0) {
    const list = escapeText(truncated.join(','), true, RESERVE - 64);
    line += ` truncated="${list.text}"`;
    bytes += 13 + list.bytes;
  }
  line += ']';
  bytes += 1;
  if (input.msg) {
    const e = escapeText(input.msg, false, Math.max(0, MAX_LINE_BYTES - bytes - 16));
    line += ' ' + e.text + (e.truncated ? '\\u2026' : '');
  }
  return line;
}

// ---------------------------------------------------------------------------------------------
// Parser

function unescapeValue(s: string, sd: boolean): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '\\' || i + 1 >= s.length) {
      out += ch;
      continue;
    }
    const n = s[i + 1];
    if (n === '\\' || (sd && (n === '"' || n === ']'))) {
      out += n;
      i++;
    } else if (n === 'x' && /^[0-9a-f]{2}$/.test(s.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (n === 'u' && /^[0-9a-f]{4}$/.test(s.slice(i + 2, i + 6))) {
      out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
      i += 5;
    } else {
      out += ch; // RFC 5424: any other backslash stays literal
    }
  }
  return out;
}

function fail(line: string, why: string): never {
  throw new EventFormatError(`not a DECNET event line (${why}): ${JSON.stringify(line.slice(0, 120))}`);
}

/**
 * Parses one line written by formatEvent (a trailing CR/LF is tolerated). Strict: throws
 * EventFormatError on anything else, so a collector can count and skip foreign lines.
 */
export function parseEventLine(input: string): EventRecord {
  const line = input.replace(/\r?\n$/, '');
  if (/[\x00\n\r]/.test(line)) fail(line, 'control character in line');
  if (Buffer.byteLength(line) > MAX_LINE_BYTES + 64) fail(line, 'line too long');
  const head = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) \[/.exec(line);
  if (!head) fail(line, 'bad header');
  const pri = Number(head[1]);
  if (pri > 191 || (head[1].length > 1 && head[1][0] === '0')) fail(line, 'bad PRI');
  if (!ISO_TS.test(head[2])) fail(line, 'bad TIMESTAMP');
  if (!HOSTNAME.test(head[3]) || !HEADER_TOKEN.test(head[4]) || !HEADER_TOKEN.test(head[5]) || !HEADER_TOKEN.test(head[6])) fail(line, 'bad header token');

  let i = head[0].length;
  const sdEnd = line.indexOf(' ', i);
  const id = line.slice(i, sdEnd < 0 ? line.length : sdEnd);
  if (id !== SD_ID) fail(line, `SD-ID is not ${SD_ID}`);
  i += SD_ID.length;

  const params = new Map<string, string>();
  for (;;) {
    if (line[i] === ']') {
      i++;
      break;
    }
    if (line[i] !== ' ') fail(line, 'malformed structured data');
    i++;
    const eq = line.indexOf('="', i);
    if (eq < 0) fail(line, 'malformed SD-PARAM');
    const name = line.slice(i, eq);
    if (!isValidParamName(name)) fail(line, `bad PARAM-NAME ${JSON.stringify(name)}`);
    i = eq + 2;
    let j = i;
    for (;;) {
      if (j >= line.length) fail(line, 'unterminated PARAM-VALUE');
      const c = line[j];
      if (c === '\\') {
        j += 2;
        continue;
      }
      if (c === '"') break;
      if (c === ']') fail(line, 'unescaped ] in PARAM-VALUE');
      j++;
    }
    if (params.has(name)) fail(line, `duplicate PARAM-NAME ${name}`);
    params.set(name, unescapeValue(line.slice(i, j), true));
    i = j + 1;
  }
  let msg = '';
  if (i < line.length) {
    if (line[i] !== ' ') fail(line, 'no space between structured data and MSG');
    msg = unescapeValue(line.slice(i + 1), false);
  }

  const get = (name: string): string => {
    const v = params.get(name);
    if (v === undefined) fail(line, `missing ${name}`);
    params.delete(name);
    return v;
  };
  const port = (name: string): number => {
    const raw = get(name);
    if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) fail(line, `bad ${name}`);
    return Number(raw);
  };
  const ts = get('ts');
  const decky = get('decky');
  const service = get('service');
  const event = get('event');
  const src_ip = get('src_ip');
  const src_port = port('src_port');
  const dst_ip = get('dst_ip');
  const dst_port = port('dst_port');
  if (!isValidEventName(event) || event !== head[6]) fail(line, 'event param disagrees with MSGID');
  let secret: Buffer | undefined;
  const b64 = params.get('secret_b64');
  if (b64 !== undefined) {
    params.delete('secret_b64');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) fail(line, 'secret_b64 is not base64');
    secret = Buffer.from(b64, 'base64');
  }
  const record: EventRecord = {
    ts,
    decky,
    service,
    event,
    src_ip,
    src_port,
    dst_ip,
    dst_port,
    fields: Object.fromEntries(params),
    msg,
    severity: SEVERITIES[pri % 8],
    raw: line,
  };
  if (secret !== undefined) record.secret = secret;
  return record;
}
