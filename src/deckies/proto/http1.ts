// A bounded HTTP/1.1 server loop for the API decoys (Elasticsearch, Docker Engine, Kubernetes).
// Hand-rolled rather than node:http so each decoy controls its exact status lines and header order
// and casing (a Go server, a Netty server and Node all differ, and fingerprinting tools look), and
// so every limit is explicit: head size, header count, body size, chunk-size lines, requests per
// connection. Requests are handled one at a time in arrival order (pipelining is allowed).
import type { Duplex } from 'node:stream';
import { ByteQueue } from './byte-queue.ts';

export interface HttpRequest {
  method: string;
  /** The request target as sent (origin-form path with query, or absolute-form). */
  target: string;
  /** Path without the query string, percent-decoding left to the caller. */
  path: string;
  /** Query string without '?', or ''. */
  query: string;
  version: '1.0' | '1.1';
  /** Headers in arrival order, names as sent. */
  rawHeaders: [string, string][];
  /** Lower-cased name → value (repeated headers joined with ', '). */
  headers: Record<string, string>;
  /** The body, at most `maxBody` bytes of it. */
  body: Buffer;
  /** Full body length as announced or received. */
  bodyLength: number;
  bodyTruncated: boolean;
  /** 1-based index of this request on its connection. */
  seq: number;
}

export interface HttpResponse {
  status: number;
  reason?: string;
  /** Header lines in the order to send; Content-Length is added by the writer if absent and `body` is set. */
  headers: [string, string][];
  body?: Buffer | string;
  /** Close the connection after this response. */
  close?: boolean;
  /** Omit an automatic Content-Length (e.g. streaming endpoints that end by closing). */
  noContentLength?: boolean;
}

export interface HttpLimits {
  maxHead: number;
  maxHeaders: number;
  maxBody: number;
  maxRequests: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxHead: 16 * 1024,
  maxHeaders: 100,
  maxBody: 64 * 1024,
  maxRequests: 100,
});

/** Why a request could not be parsed; the decoy answers in its own server's style and closes. */
export type HttpErrorKind = 'bad_request' | 'head_too_large' | 'bad_version' | 'body_too_large' | 'too_many_requests';

export interface HttpServerOptions {
  limits?: Partial<HttpLimits>;
  onRequest(req: HttpRequest): Promise<HttpResponse> | HttpResponse;
  /** Builds the error response; the connection closes after it. `raw` is a prefix of the offending input. */
  onError(kind: HttpErrorKind, raw: Buffer): HttpResponse | null;
}

const REASONS: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 409: 'Conflict',
  413: 'Request Entity Too Large', 415: 'Unsupported Media Type', 426: 'Upgrade Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 505: 'HTTP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII only in the target; anything else is a malformed request line.
const TARGET = /^[\x21-\x7e]+$/;
const MAX_CHUNK_LINE = 1024;

export function serializeResponse(res: HttpResponse, version: '1.0' | '1.1', isHead: boolean): Buffer {
  const body = res.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(res.body) ? res.body : Buffer.from(res.body, 'utf8');
  const lines = [`HTTP/${version} ${res.status} ${res.reason ?? reasonPhrase(res.status)}`];
  let hasLength = false;
  for (const [name, value] of res.headers) {
    if (name.toLowerCase() === 'content-length') hasLength = true;
    lines.push(`${name}: ${value}`);
  }
  const bodyless = res.status === 204 || res.status === 304 || (res.status >= 100 && res.status < 200);
  if (!hasLength && !res.noContentLength && !bodyless) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return isHead || bodyless ? head : Buffer.concat([head, body]);
}

/** Parses one request head (everything before CRLFCRLF). Throws HttpParseError. */
export function parseHead(head: string, maxHeaders: number): Omit<HttpRequest, 'body' | 'bodyLength' | 'bodyTruncated' | 'seq'> {
  const lines = head.split('\r\n');
  const requestLine = lines[0] ?? '';
  const parts = requestLine.split(' ');
  if (parts.length !== 3) throw new HttpParseError('bad_request');
  const [method, target, proto] = parts as [string, string, string];
  if (!TOKEN.test(method) || method.length > 32) throw new HttpParseError('bad_request');
  if (!TARGET.test(target)) throw new HttpParseError('bad_request');
  const m = /^HTTP\/(\d)\.(\d)$/.exec(proto);
  if (!m) throw new HttpParseError('bad_request');
  if (m[1] !== '1') throw new HttpParseError('bad_version');
  const version = m[2] === '0' ? '1.0' : '1.1';
  if (lines.length - 1 > maxHeaders) throw new HttpParseError('head_too_large');
  const rawHeaders: [string, string][] = [];
  const headers: Record<string, string> = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    // Obsolete line folding and names with whitespace are request-smuggling tools; refuse them.
    if (line[0] === ' ' || line[0] === '\t') throw new HttpParseError('bad_request');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpParseError('bad_request');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpParseError('bad_request');
    const value = line.slice(colon + 1).trim();
    if (/[\0\r\n]/.test(value)) throw new HttpParseError('bad_request');
    rawHeaders.push([name, value]);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  let path = target;
  let query = '';
  if (!target.startsWith('/')) {
    // absolute-form (proxy style) or asterisk-form; keep the path part if it is a URL.
    const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(target);
    path = abs ? abs[1] || '/' : target;
  }
  const q = path.indexOf('?');
  if (q >= 0) {
    query = path.slice(q + 1);
    path = path.slice(0, q);
  }
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  return { method, target, path, query, version, rawHeaders, headers };
}

export class HttpParseError extends Error {
  readonly kind: HttpErrorKind;
  constructor(kind: HttpErrorKind) {
    super(kind);
    this.kind = kind;
  }
}

type BodyMode = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked'; state: 'size' | 'data' | 'data-crlf' | 'trailer'; left: number };

/**
 * Serves HTTP/1.x on `socket` until the peer closes, a limit is hit or a response asks to close.
 * Returns immediately; everything runs from socket events.
 */
export function serveHttp1(socket: Duplex, opts: HttpServerOptions): void {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  // The queue holds at most one head plus a window of body bytes; body bytes past maxBody are
  // counted and dropped as they arrive, so memory stays bounded whatever the peer announces.
  const queue = new ByteQueue(limits.maxHead + limits.maxBody + 64 * 1024);
  let seq = 0;
  let busy = false;
  let closed = false;
  let current: { head: ReturnType<typeof parseHead>; mode: BodyMode; body: Buffer[]; kept: number; total: number } | null = null;

  const fail = (kind: HttpErrorKind, raw: Buffer): void => {
    if (closed) return;
    closed = true;
    const res = opts.onError(kind, raw);
    if (res) socket.end(serializeResponse({ ...res, close: true }, current?.head.version ?? '1.1', false));
    else socket.end();
  };

  const finishRequest = async (): Promise<void> => {
    const c = current!;
    current = null;
    const req: HttpRequest = {
      ...c.head,
      body: Buffer.concat(c.body),
      bodyLength: c.total,
      bodyTruncated: c.total > c.kept,
      seq,
    };
    let res: HttpResponse;
    try {
      res = await opts.onRequest(req);
    } catch {
      res = { status: 500, headers: [['Content-Type', 'text/plain']], body: 'Internal Server Error', close: true };
    }
    if (closed) return;
    const keepAlive = wantsKeepAlive(req) && !res.close && seq < limits.maxRequests;
    const out = serializeResponse(res, req.version, req.method === 'HEAD');
    if (keepAlive) socket.write(out);
    else {
      closed = true;
      socket.end(out);
    }
  };

  const appendBody = (chunk: Buffer): void => {
    const c = current!;
    c.total += chunk.length;
    const room = limits.maxBody - c.kept;
    if (room > 0) {
      const keep = chunk.subarray(0, room);
      c.body.push(Buffer.from(keep));
      c.kept += keep.length;
    }
  };

  /** Consumes body bytes for the current request; returns true when the body is complete. */
  const readBody = (): boolean | 'error' => {
    const c = current!;
    const mode = c.mode;
    if (mode.kind === 'none') return true;
    if (mode.kind === 'length') {
      const n = Math.min(mode.left, queue.length);
      if (n > 0) appendBody(queue.take(n));
      mode.left -= n;
      return mode.left === 0;
    }
    for (;;) {
      if (mode.state === 'size') {
        const eol = queue.indexOf('\r\n');
        if (eol < 0) return queue.length > MAX_CHUNK_LINE ? 'error' : false;
        if (eol > MAX_CHUNK_LINE) return 'error';
        const line = queue.take(eol + 2).toString('latin1', 0, eol);
        const sizeText = line.split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return 'error';
        mode.left = parseInt(sizeText, 16);
        mode.state = mode.left === 0 ? 'trailer' : 'data';
      } else if (mode.state === 'data') {
        const n = Math.min(mode.left, queue.length);
        if (n === 0) return false;
        appendBody(queue.take(n));
        mode.left -= n;
        if (mode.left > 0) return false;
        mode.state = 'data-crlf';
      } else if (mode.state === 'data-crlf') {
        if (queue.length < 2) return false;
        if (!queue.take(2).equals(Buffer.from('\r\n'))) return 'error';
        mode.state = 'size';
      } else {
        // Trailer section: header lines until an empty line; contents ignored.
        const eol = queue.indexOf('\r\n');
        if (eol < 0) return queue.length > limits.maxHead ? 'error' : false;
        queue.take(eol + 2);
        if (eol === 0) return true;
      }
    }
  };

  const pump = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      while (!closed) {
        if (!current) {
          const end = queue.indexOf('\r\n\r\n');
          if (end < 0) {
            if (queue.length > limits.maxHead) fail('head_too_large', queue.peek(256));
            // A bare line without CRLFCRLF that is not even an HTTP start is garbage; wait for more.
            return;
          }
          if (end > limits.maxHead) {
            fail('head_too_large', queue.peek(256));
            return;
          }
          const rawHead = queue.peek(Math.min(end, 512));
          const headText = queue.take(end + 4).toString('latin1', 0, end);
          let head: ReturnType<typeof parseHead>;
          try {
            head = parseHead(headText.replace(/^(\r\n)+/, ''), limits.maxHeaders);
          } catch (err) {
            fail(err instanceof HttpParseError ? err.kind : 'bad_request', rawHead);
            return;
          }
          seq++;
          let mode: BodyMode;
          const te = head.headers['transfer-encoding'];
          const cl = head.headers['content-length'];
          if (te !== undefined) {
            // Both framings at once is the classic smuggling setup: refuse, as modern servers do.
            if (cl !== undefined || !/(^|,)\s*chunked\s*$/i.test(te)) {
              fail('bad_request', rawHead);
              return;
            }
            mode = { kind: 'chunked', state: 'size', left: 0 };
          } else if (cl !== undefined) {
            const values = cl.split(',').map((v) => v.trim());
            if (!values.every((v) => /^\d{1,15}$/.test(v) && v === values[0])) {
              fail('bad_request', rawHead);
              return;
            }
            const n = Number(values[0]);
            mode = n === 0 ? { kind: 'none' } : { kind: 'length', left: n };
          } else mode = { kind: 'none' };
          current = { head, mode, body: [], kept: 0, total: 0 };
          if (mode.kind !== 'none' && /^100-continue$/i.test(head.headers['expect'] ?? '') && head.version === '1.1') {
            socket.write('HTTP/1.1 100 Continue\r\n\r\n');
          }
        }
        const done = readBody();
        if (done === 'error') {
          fail('bad_request', Buffer.alloc(0));
          return;
        }
        if (!done) return;
        await finishRequest();
      }
    } catch {
      // A bug reached by attacker input ends this connection, nothing else.
      closed = true;
      socket.destroy();
    } finally {
      busy = false;
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    // Body bytes are drained as they arrive; the queue only fills when a peer pipelines far ahead
    // of us or sends an endless head, and both end the connection.
    if (!queue.push(chunk)) {
      fail(current ? 'body_too_large' : 'head_too_large', queue.peek(256));
      return;
    }
    void pump();
  });
  socket.on('error', () => {
    closed = true;
  });
  socket.on('close', () => {
    closed = true;
  });
}

function wantsKeepAlive(req: HttpRequest): boolean {
  const conn = (req.headers['connection'] ?? '').toLowerCase();
  if (req.version === '1.0') return /\bkeep-alive\b/.test(conn);
  return !/\bclose\b/.test(conn);
}

/** Go's time.RFC1123 with GMT, as Go and most servers put in Date headers. */
export function httpDate(d = new Date()): string {
  return d.toUTCString();
}

/** Parses an Authorization header into what a credential record needs; never throws. */
export function parseAuthorization(value: string | undefined): { scheme: string; username?: string; secret: string } | null {
  if (!value) return null;
  const m = /^([A-Za-z][A-Za-z0-9_-]*)\s+(.*)$/.exec(value.trim());
  if (!m) return { scheme: 'unknown', secret: value.slice(0, 4096) };
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!.slice(0, 4096);
  if (scheme === 'basic') {
    const decoded = Buffer.from(rest, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return { scheme, secret: decoded };
    return { scheme, username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
  }
  return { scheme, secret: rest };
}
