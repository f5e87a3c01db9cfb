// RESP2 request parsing (multibulk and inline) and reply encoding, bounded the way a Redis server
// bounds them, with Redis's own protocol-error texts so clients and scanners see the real thing.
import type { ByteQueue } from './byte-queue.ts';

export interface RespLimits {
  /** Longest inline command line (Redis: 64 KiB). */
  maxInline: number;
  /** Most arguments in one multibulk command. */
  maxArgs: number;
  /** Largest single bulk argument. */
  maxBulk: number;
}

export type ParseResult = { kind: 'command'; args: Buffer[] } | { kind: 'incomplete' } | { kind: 'error'; message: string };

const CRLF = Buffer.from('\r\n');

/** Takes one complete command off the queue, or reports that more bytes are needed, or a protocol error. */
export function takeCommand(queue: ByteQueue, limits: RespLimits): ParseResult {
  if (queue.length === 0) return { kind: 'incomplete' };
  const first = queue.peek(1)[0];
  return first === 0x2a /* '*' */ ? takeMultibulk(queue, limits) : takeInline(queue, limits);
}

function readLine(buf: Buffer, from: number, maxLen: number): { line: string; next: number } | 'incomplete' | 'too-long' {
  const end = buf.indexOf(CRLF, from);
  if (end < 0) return buf.length - from > maxLen ? 'too-long' : 'incomplete';
  if (end - from > maxLen) return 'too-long';
  return { line: buf.toString('latin1', from, end), next: end + 2 };
}

function takeMultibulk(queue: ByteQueue, limits: RespLimits): ParseResult {
  const buf = queue.peek(queue.length);
  const head = readLine(buf, 1, 32);
  if (head === 'incomplete') return { kind: 'incomplete' };
  if (head === 'too-long' || !/^-?\d+$/.test(head.line)) return { kind: 'error', message: 'Protocol error: invalid multibulk length' };
  const count = Number(head.line);
  if (count > limits.maxArgs) return { kind: 'error', message: 'Protocol error: invalid multibulk length' };
  let at = head.next;
  const args: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (at >= buf.length) return { kind: 'incomplete' };
    if (buf[at] !== 0x24 /* '$' */) {
      return { kind: 'error', message: `Protocol error: expected '$', got '${String.fromCharCode(buf[at]!)}'` };
    }
    const len = readLine(buf, at + 1, 32);
    if (len === 'incomplete') return { kind: 'incomplete' };
    if (len === 'too-long' || !/^\d+$/.test(len.line)) return { kind: 'error', message: 'Protocol error: invalid bulk length' };
    const n = Number(len.line);
    if (n > limits.maxBulk) return { kind: 'error', message: 'Protocol error: invalid bulk length' };
    if (buf.length < len.next + n + 2) return { kind: 'incomplete' };
    args.push(Buffer.from(buf.subarray(len.next, len.next + n)));
    at = len.next + n + 2;
  }
  queue.take(at);
  return { kind: 'command', args };
}

function takeInline(queue: ByteQueue, limits: RespLimits): ParseResult {
  const nl = queue.indexOf('\n');
  if (nl < 0) {
    return queue.length > limits.maxInline ? { kind: 'error', message: 'Protocol error: too big inline request' } : { kind: 'incomplete' };
  }
  if (nl > limits.maxInline) return { kind: 'error', message: 'Protocol error: too big inline request' };
  let line = queue.take(nl + 1).subarray(0, nl);
  if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
  const args = splitArgs(line.toString('latin1'));
  if (args === null) return { kind: 'error', message: 'Protocol error: unbalanced quotes in request' };
  return { kind: 'command', args: args.slice(0, limits.maxArgs).map((a) => Buffer.from(a, 'latin1')) };
}

/** sdssplitargs: whitespace-separated words, "double quotes" with escapes, 'single quotes'. */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && /\s/.test(line[i]!)) i++;
    if (i >= n) return out;
    let cur = '';
    let inDq = false;
    let inSq = false;
    for (;;) {
      if (inDq) {
        if (i >= n) return null;
        const c = line[i]!;
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const e = line[i]!;
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          // The closing quote must be followed by a space or the end.
          if (i + 1 < n && !/\s/.test(line[i + 1]!)) return null;
          inDq = false;
          i++;
          break;
        } else cur += c;
        i++;
      } else if (inSq) {
        if (i >= n) return null;
        const c = line[i]!;
        if (c === '\\' && line[i + 1] === "'") {
          cur += "'";
          i += 2;
          continue;
        }
        if (c === "'") {
          if (i + 1 < n && !/\s/.test(line[i + 1]!)) return null;
          inSq = false;
          i++;
          break;
        }
        cur += c;
        i++;
      } else {
        if (i >= n || /\s/.test(line[i]!)) break;
        const c = line[i]!;
        if (c === '"') inDq = true;
        else if (c === "'") inSq = true;
        else cur += c;
        i++;
      }
    }
    out.push(cur);
  }
}

// ---- replies ------------------------------------------------------------------------------------

export type Reply = Buffer;

export const resp = {
  simple: (s: string): Reply => Buffer.from(`+${s}\r\n`, 'latin1'),
  error: (s: string): Reply => Buffer.from(`-${s.replace(/[\r\n]/g, ' ')}\r\n`, 'latin1'),
  int: (n: number): Reply => Buffer.from(`:${Math.trunc(n)}\r\n`),
  bulk: (v: Buffer | string | null): Reply => {
    if (v === null) return Buffer.from('$-1\r\n');
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, CRLF]);
  },
  array: (items: Reply[] | null): Reply => (items === null ? Buffer.from('*-1\r\n') : Buffer.concat([Buffer.from(`*${items.length}\r\n`), ...items])),
  ok: (): Reply => Buffer.from('+OK\r\n'),
};
