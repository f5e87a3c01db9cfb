// Turns one syslog message from another source into a DECNET event line (DESIGN §5), so that
// everything the ingester reads has one shape.
//
// - A DECNET event line (SD-ID relay@55555, as written by a decoy host elsewhere) passes unchanged.
// - Any other RFC 5424 message: HOSTNAME → decky, APP-NAME → service, MSGID → event, the params of
//   every SD element → fields. The attacker address is the first of src_ip, src, client_ip,
//   remote_ip, remote_addr (host:port is split), target_ip, ip; failing those it is looked for in
//   the MSG (`key=value`, `from X`, `rhost=X`, then the first bare IPv4 address).
// - An RFC 3164 (BSD) message: HOSTNAME → decky, TAG → service, event `message`; its timestamp
//   has neither year nor zone, so the receipt time is used and the original is kept in `orig_ts`.
// Every message gets `received_from` (the sender's address). Anything else is refused with a reason.
import { isIP } from 'node:net';
import { formatEvent, isValidParamName, parseEventLine, type EventInput, type Severity } from './rfc5424.ts';

const SEVERITIES: readonly Severity[] = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];
const IP_FIELDS = ['src_ip', 'src', 'client_ip', 'remote_ip', 'remote_addr', 'target_ip', 'ip'] as const;
const FIXED = new Set(['ts', 'decky', 'service', 'event', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'secret_b64', 'truncated']);
const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export type NormaliseResult = { line: string; passthrough: boolean } | { error: string } | { dropped: string };

export interface NormaliseOptions {
  /** APP-NAMEs (services) whose messages are dropped as host noise. */
  dropApps?: ReadonlySet<string>;
  /** Receipt time (tests). */
  now?: Date;
}

function eventName(msgid: string): string {
  if (msgid === '-' || msgid === '') return 'message';
  let e = msgid.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 32);
  if (!/^[a-z]/.test(e)) e = `e_${e}`.slice(0, 32);
  return e;
}

function fieldName(name: string): string | null {
  let n = name.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 32);
  if (n === '' || /^_+$/.test(n)) return null;
  if (FIXED.has(n)) n = `x_${n}`;
  return isValidParamName(n) ? n : null;
}

function unescapeParam(s: string): string {
  return s.replace(/\\(["\\\]])/g, '$1');
}

interface Parsed5424 {
  pri: number;
  ts: string;
  host: string;
  app: string;
  msgid: string;
  params: [string, string][];
  msg: string;
}

/** A lenient RFC 5424 parser for foreign senders (any SD-IDs, several SD elements). */
function parse5424(line: string): Parsed5424 | string {
  const head = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(line);
  if (!head) return 'not RFC 5424';
  const pri = Number(head[1]);
  if (pri > 191) return 'bad PRI';
  let i = head[0].length;
  const params: [string, string][] = [];
  if (line[i] === '-') i++;
  else if (line[i] === '[') {
    while (line[i] === '[') {
      const idEnd = line.slice(i).search(/[ \]]/);
      if (idEnd < 0) return 'unterminated SD element';
      i += idEnd;
      while (line[i] === ' ') {
        i++;
        const eq = line.indexOf('="', i);
        if (eq < 0) return 'malformed SD-PARAM';
        const name = line.slice(i, eq);
        let j = eq + 2;
        for (;;) {
          if (j >= line.length) return 'unterminated PARAM-VALUE';
          if (line[j] === '\\') j += 2;
          else if (line[j] === '"') break;
          else j++;
        }
        params.push([name, unescapeParam(line.slice(eq + 2, j))]);
        i = j + 1;
      }
      if (line[i] !== ']') return 'malformed structured data';
      i++;
    }
  } else return 'no structured data';
  let msg = '';
  if (i < line.length) {
    if (line[i] !== ' ') return 'no space before MSG';
    msg = line.slice(i + 1).replace(/^\uFEFF/, '');
  }
  return { pri, ts: head[2], host: head[3], app: head[4], msgid: head[6], params, msg };
}

const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec';

function parse3164(line: string): Parsed5424 | string {
  const m = /^<(\d{1,3})>([A-Z][a-z]{2}) ([ \d]\d) (\d{2}:\d{2}:\d{2}) (\S+) ([^:[\s]{1,48})(?:\[[^\]]{0,32}\])?: ?(.*)$/.exec(line);
  if (!m || !MONTHS.includes(m[2])) return 'not RFC 5424 or RFC 3164 syslog';
  const pri = Number(m[1]);
  if (pri > 191) return 'bad PRI';
  return { pri, ts: '-', host: m[5], app: m[6], msgid: '-', params: [['orig_ts', `${m[2]} ${m[3].trim()} ${m[4]}`]], msg: m[7] };
}

function splitHostPort(value: string): { ip: string; port?: number } | null {
  if (isIP(value)) return { ip: value };
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(value);
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value);
  const m = v6 ?? v4;
  if (m && isIP(m[1]) && Number(m[2]) <= 65535) return { ip: m[1], port: Number(m[2]) };
  return null;
}

function ipFromMsg(msg: string): string | null {
  for (const name of IP_FIELDS) {
    const kv = new RegExp(`(?:^|\\s)${name}=([^\\s,;]+)`).exec(msg);
    const hit = kv && splitHostPort(kv[1]);
    if (hit) return hit.ip;
  }
  for (const re of [/\bfrom ([0-9a-fA-F:.]+)/, /\brhost=([0-9a-fA-F:.]+)/, /\bclient=([0-9a-fA-F:.]+)/]) {
    const m = re.exec(msg);
    if (m && isIP(m[1])) return m[1];
  }
  const bare = /\b(\d{1,3}(?:\.\d{1,3}){3})\b/.exec(msg);
  return bare && isIP(bare[1]) ? bare[1] : null;
}

const portOf = (v: string | undefined): number | undefined => (v !== undefined && /^\d{1,5}$/.test(v) && Number(v) <= 65535 ? Number(v) : undefined);

/** Normalises one received message (without its trailing newline). */
export function normaliseSyslog(raw: string, peer: string, opts: NormaliseOptions = {}): NormaliseResult {
  const line = raw.replace(/\r?\n$/, '');
  if (line.length === 0) return { error: 'empty message' };
  if (/[\x00\n\r]/.test(line)) return { error: 'control character inside the message' };
  try {
    const rec = parseEventLine(line);
    if (opts.dropApps?.has(rec.service)) return { dropped: rec.service };
    return { line, passthrough: true };
  } catch {
    // not a DECNET line: try the generic forms
  }
  let p = parse5424(line);
  if (typeof p === 'string') {
    if (/^<\d{1,3}>1 /.test(line)) return { error: p };
    const bsd = parse3164(line);
    if (typeof bsd === 'string') return { error: bsd };
    p = bsd;
  }
  if (opts.dropApps?.has(p.app)) return { dropped: p.app };

  const given = new Map<string, string>();
  for (const [k, v] of p.params) if (!given.has(k.toLowerCase())) given.set(k.toLowerCase(), v);
  let srcIp: string | null = null;
  let srcPort = portOf(given.get('src_port')) ?? portOf(given.get('remote_port'));
  for (const name of IP_FIELDS) {
    const v = given.get(name);
    const hit = v === undefined ? null : splitHostPort(v.trim());
    if (hit) {
      srcIp = hit.ip;
      if (hit.port !== undefined && srcPort === undefined) srcPort = hit.port;
      break;
    }
  }
  srcIp ??= ipFromMsg(p.msg);
  const dst = given.get('dst_ip');
  const fields: Record<string, string> = {};
  for (const [k, v] of p.params) {
    const lk = k.toLowerCase();
    if (lk === 'src_ip' || lk === 'src_port' || lk === 'dst_ip' || lk === 'dst_port' || lk === 'secret_b64') continue;
    const n = fieldName(k);
    if (n && !(n in fields)) fields[n] = v;
  }
  fields.received_from = peer;
  let secret: Buffer | undefined;
  const b64 = given.get('secret_b64');
  if (b64 !== undefined && BASE64.test(b64) && b64.length % 4 === 0) secret = Buffer.from(b64, 'base64');
  const now = opts.now ?? new Date();
  const input: EventInput = {
    ts: ISO_TS.test(p.ts) ? new Date(p.ts).toISOString() : now.toISOString(),
    decky: p.host === '-' ? 'unknown' : p.host,
    service: p.app === '-' ? 'syslog' : p.app,
    event: eventName(p.msgid),
    src_ip: srcIp ?? '',
    src_port: srcPort ?? 0,
    dst_ip: dst && isIP(dst) ? dst : '',
    dst_port: portOf(given.get('dst_port')) ?? 0,
    fields,
    msg: p.msg,
    severity: SEVERITIES[p.pri % 8],
  };
  if (secret) input.secret = secret;
  try {
    return { line: formatEvent(input), passthrough: false };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
