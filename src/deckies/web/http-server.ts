// Drives one HTTP/1.x connection (plain socket or TLS socket): parses requests with bounds, hands each to the
// service's handler in order, writes responses in the impersonated server's style, and closes the way the
// real server would (after an error, on `Connection: close`, after the keep-alive request budget).
import type { Duplex } from 'node:stream';
import { HttpRequestParser, header, type HttpLimits, type HttpParseError, type HttpRequest } from './http-parser.ts';
import { errorPage, headerBlock, type ServerStyle } from './server-style.ts';

export interface HttpResponse {
  status: number;
  contentType?: string;
  /** Extra headers (Location, Set-Cookie, X-Powered-By …), emitted in the flavour's position. */
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: string | Buffer;
  /** Close the connection after this response. */
  close?: boolean;
}

export interface ServeHttpOptions {
  style: ServerStyle;
  limits?: Partial<HttpLimits>;
  /** Requests served on one connection before it is closed (nginx keepalive_requests; Apache MaxKeepAliveRequests). */
  maxRequests?: number;
  /** Port the client connected to (Apache's error-page footer names it). */
  port?: number;
  /** Called once per well-formed request, in order; a throw answers 500. */
  handle(req: HttpRequest): HttpResponse | Promise<HttpResponse>;
  /** Called for a malformed request before the error response is written and the connection closed. */
  onBadRequest?(err: HttpParseError): void;
}

/** Unparsed bytes allowed beyond one maximal request before reading pauses (pipelining floods). */
const PIPELINE_SLACK = 64 * 1024;

/** Builds the error response of the impersonated server for `status`. */
export function errorResponse(status: number, style: ServerStyle, ctx: { method?: string; host?: string; port?: number } = {}): HttpResponse {
  const page = errorPage(status, style, ctx);
  return { status: page.status, contentType: page.contentType, body: page.body };
}

export function serveHttp(stream: Duplex, opts: ServeHttpOptions): void {
  const parser = new HttpRequestParser(opts.limits);
  // The parser bounds a single request itself; this bounds what may queue behind it.
  const highWater = parser.limits.maxBody + parser.limits.maxHeaderBytes + PIPELINE_SLACK;
  const maxRequests = opts.maxRequests ?? 100;
  let served = 0;
  let busy = false;
  let done = false;
  let peerEnded = false;

  const finish = (): void => {
    if (done) return;
    done = true;
    stream.end();
  };

  const write = (res: HttpResponse, req: HttpRequest | null, close: boolean): void => {
    const body = res.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(res.body) ? res.body : Buffer.from(res.body, 'utf8');
    if (req?.version === '0.9') {
      stream.write(body); // HTTP/0.9 responses are the bare entity
      return;
    }
    const head = headerBlock(opts.style, res.status, res.contentType, body.length, res.headers ?? [], !close, maxRequests - served);
    const withBody = req?.method !== 'HEAD' && res.status !== 204 && res.status !== 304;
    stream.write(withBody ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1'));
  };

  const pump = async (): Promise<void> => {
    if (busy || done) return;
    busy = true;
    try {
      while (!done) {
        const result = parser.next();
        if (result === null) {
          // A client that sent `Expect: 100-continue` waits for this before sending its body (curl: 1 s).
          if (parser.takeContinue()) stream.write('HTTP/1.1 100 Continue\r\n\r\n');
          break;
        }
        if (result.kind === 'error') {
          opts.onBadRequest?.(result.error);
          write(errorResponse(result.error.status, opts.style, { ...(result.error.method ? { method: result.error.method } : {}), ...(opts.port ? { port: opts.port } : {}) }), null, true);
          finish();
          break;
        }
        const req = result.request;
        served++;
        let res: HttpResponse;
        try {
          res = await opts.handle(req);
        } catch {
          const host = header(req, 'host');
          res = errorResponse(500, opts.style, { method: req.method, ...(host ? { host } : {}), ...(opts.port ? { port: opts.port } : {}) });
        }
        if (done) break;
        const close = res.close === true || !req.keepAlive || served >= maxRequests || req.version === '0.9';
        write(res, req, close);
        if (close) finish();
      }
    } finally {
      busy = false;
      if (!done && peerEnded) finish();
      else if (!done && stream.isPaused() && parser.buffered < highWater) stream.resume();
    }
  };

  stream.on('data', (chunk: Buffer) => {
    if (done) return;
    parser.push(chunk);
    if (parser.buffered >= highWater) stream.pause();
    void pump();
  });
  stream.on('end', () => {
    peerEnded = true;
    if (!busy) finish();
  });
  stream.on('error', () => {
    done = true;
  });
  stream.on('close', () => {
    done = true;
  });
  stream.resume(); // the stream may arrive paused (bytes pushed back after a TLS/plaintext peek)
}
