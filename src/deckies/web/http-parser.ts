// Incremental, bounded HTTP/1.x request parser for decoy web servers. Attackers send malformed requests on
// purpose, so every limit is explicit and a bad request yields a typed error (with the raw bytes for the
// record) instead of an exception. Supports pipelining, Content-Length and chunked bodies, HTTP/0.9 and
// bare-LF line endings (scanners use both).

export interface HttpLimits {
  /** Longest request line (nginx: large_client_header_buffers 8k). */
  maxRequestLine: number;
  /** Total bytes of the header block, request line included. */
  maxHeaderBytes: number;
  maxHeaders: number;
  /** Body bytes accepted per request; a larger declared or streamed body is answered 413. */
  maxBody: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxRequestLine: 8192,
  maxHeaderBytes: 16384,
  maxHeaders: 100,
  maxBody: 1024 * 1024,
};

export interface HttpRequest {
  method: string;
  /** Request target exactly as sent (absolute-form, origin-form, `*`, authority-form). */
  target: string;
  /** Raw path part of the target (before `?`), still percent-encoded. */
  rawPath: string;
  /** Raw query string without the `?` ('' when absent). */
  query: string;
  /** '0.9', '1.0' or '1.1'. */
  version: string;
  /** Header fields in wire order, names as sent. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** The request arrived as absolute-form (`GET http://host/ HTTP/1.1`): an open-proxy probe. */
  absoluteForm: boolean;
  /** The connection may carry another request after this one. */
  keepAlive: boolean;
}

export interface HttpParseError {
  status: 400 | 405 | 413 | 414 | 431 | 501 | 505;
  reason: string;
  /** The bytes that made up the bad request (bounded), for the event record. */
  raw: Buffer;
  /** Request line fields when they were readable before the error. */
  method?: string;
  target?: string;
}

export type ParseResult = { kind: 'request'; request: HttpRequest } | { kind: 'error'; error: HttpParseError };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHOD = /^[A-Z_-]{1,32}$/;
const VERSION = /^HTTP\/(\d)\.(\d)$/;
const RAW_KEEP = 2048;

/** Case-insensitive lookup of the first header with `name`. */
export function header(req: Pick<HttpRequest, 'headers'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of req.headers) if (k.toLowerCase() === lower) return v;
  return undefined;
}

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'failed';

export class HttpRequestParser {
  private buf: Buffer = Buffer.alloc(0);
  private state: State = 'head';
  private pending: HttpRequest | null = null;
  private bodyParts: Buffer[] = [];
  private bodyLen = 0;
  private remaining = 0;
  private trailerBytes = 0;
  private expectContinue = false;
  readonly limits: HttpLimits;

  constructor(limits: Partial<HttpLimits> = {}) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...limits };
  }

  /** Bytes received but not yet consumed by a complete request. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    if (this.state === 'failed') return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** True once after a request's headers announced `Expect: 100-continue` and its body is still awaited. */
  takeContinue(): boolean {
    const pending = this.expectContinue && this.state !== 'head' && this.state !== 'failed';
    this.expectContinue = false;
    return pending;
  }

  /** The next complete request or error, or null when more bytes are needed. After an error the parser
   * is spent (the connection must be closed, as a real server does). */
  next(): ParseResult | null {
    for (;;) {
      switch (this.state) {
        case 'failed':
          return null;
        case 'head': {
          const r = this.parseHead();
          if (r !== null) return r;
          if (this.state === 'head') return null; // header block incomplete
          continue; // a body follows
        }
        case 'body': {
          if (this.buf.length < this.remaining) return null;
          this.takeBody(this.remaining);
          return this.finish();
        }
        case 'chunk-size': {
          const line = this.takeLine(1024);
          if (line === null) return null;
          if (line === false) return this.fail(400, 'chunk size line too long');
          const size = /^([0-9A-Fa-f]{1,8})(;.*)?$/.exec(line.trim());
          if (!size) return this.fail(400, 'invalid chunk size');
          const n = parseInt(size[1]!, 16);
          if (n === 0) {
            this.state = 'trailers';
            continue;
          }
          if (this.bodyLen + n > this.limits.maxBody) return this.fail(413, 'chunked body exceeds limit');
          this.remaining = n;
          this.state = 'chunk-data';
          continue;
        }
        case 'chunk-data': {
          if (this.buf.length < this.remaining) return null;
          this.takeBody(this.remaining);
          this.state = 'chunk-crlf';
          continue;
        }
        case 'chunk-crlf': {
          const line = this.takeLine(2);
          if (line === null) return null;
          if (line !== '') return this.fail(400, 'missing CRLF after chunk');
          this.state = 'chunk-size';
          continue;
        }
        case 'trailers': {
          const line = this.takeLine(this.limits.maxRequestLine);
          if (line === null) return null;
          if (line === false) return this.fail(400, 'trailer line too long');
          this.trailerBytes += line.length + 2;
          if (this.trailerBytes > this.limits.maxHeaderBytes) return this.fail(431, 'trailers too large');
          if (line === '') return this.finish();
          continue;
        }
      }
    }
  }

  private parseHead(): ParseResult | null {
    // Skip empty lines before a request (RFC 9112 §2.2 robustness).
    while (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) this.buf = this.buf.subarray(2);
    while (this.buf.length >= 1 && this.buf[0] === 0x0a) this.buf = this.buf.subarray(1);
    if (this.buf.length === 0) return null;

    // Like nginx, reject a request whose method is not a token at the first bad byte (binary probes, TLS
    // sent to a plain port) instead of waiting for a line ending that may never come.
    const methodEnd = Math.min(this.buf.length, 33);
    for (let i = 0; i < methodEnd; i++) {
      const c = this.buf[i]!;
      if (c === 0x20 && i > 0) break;
      if (!((c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x2d) || i === 32) return this.fail(400, 'invalid method');
    }

    const firstLf = this.buf.indexOf(0x0a);
    if (firstLf === -1) {
      if (this.buf.length > this.limits.maxRequestLine) return this.fail(414, 'request line too long');
      return null;
    }
    if (firstLf > this.limits.maxRequestLine) return this.fail(414, 'request line too long');
    const requestLine = this.buf.subarray(0, firstLf).toString('latin1').replace(/\r$/, '');
    const parts = requestLine.split(' ');

    // HTTP/0.9: `GET /path` with nothing else; no headers follow.
    if (parts.length === 2 && parts[0] === 'GET' && parts[1]!.startsWith('/')) {
      this.buf = this.buf.subarray(firstLf + 1);
      const [rawPath, query] = splitTarget(parts[1]!);
      return { kind: 'request', request: { method: 'GET', target: parts[1]!, rawPath, query, version: '0.9', headers: [], body: Buffer.alloc(0), absoluteForm: false, keepAlive: false } };
    }

    const end = findHeadEnd(this.buf, this.limits.maxHeaderBytes);
    if (end === null) {
      if (this.buf.length > this.limits.maxHeaderBytes) return this.fail(431, 'header block too large', parts[0], parts[1]);
      return null;
    }
    if (end.head > this.limits.maxHeaderBytes) return this.fail(431, 'header block too large', parts[0], parts[1]);
    const lines = this.buf.subarray(0, end.head).toString('latin1').split('\n').map((l) => l.replace(/\r$/, ''));
    lines.shift();
    const bodyStart = end.body;

    if (parts.length !== 3) return this.fail(400, 'malformed request line');
    const [method, target, versionText] = parts as [string, string, string];
    if (!METHOD.test(method)) return this.fail(400, 'invalid method', method, target);
    const v = VERSION.exec(versionText);
    if (!v) return this.fail(400, 'invalid HTTP version', method, target);
    if (v[1] !== '1') return this.fail(505, 'unsupported HTTP version', method, target);
    if (target.length === 0 || /[\x00-\x20\x7f]/.test(target)) return this.fail(400, 'invalid request target', method, target);
    const absoluteForm = /^[a-z][a-z0-9+.-]*:\/\//i.test(target);
    if (!(target.startsWith('/') || absoluteForm || target === '*' || method === 'CONNECT')) {
      return this.fail(400, 'invalid request target', method, target);
    }
    if (method === 'CONNECT') return this.fail(405, 'CONNECT not allowed', method, target);

    const headers: Array<[string, string]> = [];
    for (const line of lines) {
      if (line === '') continue;
      if (headers.length >= this.limits.maxHeaders) return this.fail(431, 'too many header fields', method, target);
      if (line[0] === ' ' || line[0] === '\t') return this.fail(400, 'obsolete header line folding', method, target);
      const colon = line.indexOf(':');
      if (colon <= 0) return this.fail(400, 'header line without a name', method, target);
      const name = line.slice(0, colon);
      if (!TOKEN.test(name)) return this.fail(400, 'invalid header name', method, target);
      headers.push([name, line.slice(colon + 1).trim()]);
    }

    const version = `${v[1]}.${v[2] === '0' ? '0' : '1'}`;
    const connection = (header({ headers }, 'connection') ?? '').toLowerCase();
    const keepAlive = version === '1.1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    const [rawPath, query] = absoluteForm ? splitTarget(target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '') || '/') : splitTarget(target);
    const request: HttpRequest = { method, target, rawPath, query, version, headers, body: Buffer.alloc(0), absoluteForm, keepAlive };

    const te = header(request, 'transfer-encoding');
    const clValues = request.headers.filter(([k]) => k.toLowerCase() === 'content-length').map(([, val]) => val);
    if (te !== undefined && clValues.length > 0) return this.fail(400, 'both Transfer-Encoding and Content-Length', method, target);
    this.buf = this.buf.subarray(bodyStart);
    this.pending = request;
    this.bodyParts = [];
    this.bodyLen = 0;
    this.trailerBytes = 0;
    this.expectContinue = version === '1.1' && (header(request, 'expect') ?? '').toLowerCase() === '100-continue';

    if (te !== undefined) {
      if (te.trim().toLowerCase() !== 'chunked') return this.fail(501, 'unsupported transfer coding', method, target);
      this.state = 'chunk-size';
      return null;
    }
    if (clValues.length > 0) {
      if (new Set(clValues).size !== 1 || !/^\d{1,15}$/.test(clValues[0]!)) return this.fail(400, 'invalid Content-Length', method, target);
      const n = Number(clValues[0]);
      if (n > this.limits.maxBody) return this.fail(413, 'body exceeds limit', method, target);
      if (n > 0) {
        this.remaining = n;
        this.state = 'body';
        return null;
      }
    }
    return this.finish();
  }

  /** Returns a line without its terminator, null when incomplete, false when longer than `max`. */
  private takeLine(max: number): string | null | false {
    const lf = this.buf.indexOf(0x0a);
    if (lf === -1) return this.buf.length > max ? false : null;
    if (lf > max) return false;
    const line = this.buf.subarray(0, lf).toString('latin1').replace(/\r$/, '');
    this.buf = this.buf.subarray(lf + 1);
    return line;
  }

  private takeBody(n: number): void {
    this.bodyParts.push(Buffer.from(this.buf.subarray(0, n)));
    this.bodyLen += n;
    this.buf = this.buf.subarray(n);
  }

  private finish(): ParseResult {
    const request = this.pending!;
    request.body = this.bodyParts.length === 1 ? this.bodyParts[0]! : Buffer.concat(this.bodyParts);
    this.pending = null;
    this.bodyParts = [];
    this.state = 'head';
    this.expectContinue = false;
    // Copy the unconsumed tail so the request's buffers do not pin the whole receive history.
    if (this.buf.length > 0) this.buf = Buffer.from(this.buf);
    return { kind: 'request', request };
  }

  private fail(status: HttpParseError['status'], reason: string, method?: string, target?: string): ParseResult {
    const raw = Buffer.from(this.buf.subarray(0, RAW_KEEP));
    this.state = 'failed';
    this.buf = Buffer.alloc(0);
    this.bodyParts = [];
    const error: HttpParseError = { status, reason, raw };
    if (this.pending) {
      error.method = this.pending.method;
      error.target = this.pending.target;
    } else {
      if (method !== undefined) error.method = method.slice(0, 64);
      if (target !== undefined) error.target = target.slice(0, 2048);
    }
    return { kind: 'error', error };
  }
}

/** Locates the blank line that ends the header block: `head` = end of the last header line (its LF),
 * `body` = first byte after the blank line. Accepts CRLF and bare LF. */
function findHeadEnd(buf: Buffer, max: number): { head: number; body: number } | null {
  const limit = Math.min(buf.length, max + 3);
  for (let i = buf.indexOf(0x0a); i !== -1 && i < limit; i = buf.indexOf(0x0a, i + 1)) {
    if (buf[i + 1] === 0x0a) return { head: i, body: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { head: i, body: i + 3 };
  }
  return null;
}

function splitTarget(target: string): [string, string] {
  const q = target.indexOf('?');
  const hash = target.indexOf('#');
  const path = q === -1 ? (hash === -1 ? target : target.slice(0, hash)) : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1, hash > q ? hash : undefined);
  return [path, query];
}
