// A small HTTP/1.1 client on node:http / node:https for outbound calls (intel providers, webhook
// deliveries): one deadline for the whole exchange, a cap on the response body, no redirects
// followed, no connection reuse, and an optional `lookup` so a caller can choose (and check) the
// address actually connected to. Loaded only by the workers that call out.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';

export interface HttpRequest {
  url: string | URL;
  method?: 'GET' | 'POST' | 'HEAD';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Deadline for connect + request + response, in ms. */
  timeoutMs: number;
  /** Largest response body kept. */
  maxResponseBytes: number;
  /** With true, a longer body is cut at the cap (the caller only needs the status); otherwise it is an error. */
  truncate?: boolean;
  /** Resolves the host for the connection (used to pin a checked address). */
  lookup?: LookupFunction;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  truncated: boolean;
}

export type HttpErrorKind = 'timeout' | 'too-large' | 'network' | 'aborted' | 'refused-destination';

export class HttpError extends Error {
  readonly kind: HttpErrorKind;
  constructor(kind: HttpErrorKind, message: string) {
    super(message);
    this.name = 'HttpError';
    this.kind = kind;
  }
}

export function httpSend(req: HttpRequest): Promise<HttpResponse> {
  const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new HttpError('network', `unsupported scheme ${url.protocol}`));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const headers: Record<string, string> = { connection: 'close', ...req.headers };
  if (body) headers['content-length'] = String(body.length);

  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, res?: HttpResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res!);
    };
    const r = send(url, {
      method: req.method ?? (body ? 'POST' : 'GET'),
      headers,
      agent: false,
      lookup: req.lookup,
      // Hostnames are resolved by `lookup`; IPv6 literals come bracketed in URL.hostname.
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    });
    const timer = setTimeout(() => {
      const err = new HttpError('timeout', `no complete response from ${url.host} within ${req.timeoutMs} ms`);
      r.destroy(err);
      finish(err);
    }, req.timeoutMs);
    const onAbort = () => {
      const err = new HttpError('aborted', 'request aborted');
      r.destroy(err);
      finish(err);
    };
    if (req.signal?.aborted) return onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });

    r.on('error', (err: Error) => {
      if (err instanceof HttpError) return finish(err);
      finish(new HttpError('network', `${url.host}: ${err.message}`));
    });
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        if (size + chunk.length > req.maxResponseBytes) {
          if (!req.truncate) {
            const err = new HttpError('too-large', `the response from ${url.host} is larger than ${req.maxResponseBytes} bytes`);
            res.destroy();
            r.destroy(err);
            finish(err);
            return;
          }
          chunks.push(chunk.subarray(0, req.maxResponseBytes - size));
          size = req.maxResponseBytes;
          truncated = true;
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated });
          res.destroy();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), truncated }));
      res.on('error', (err) => finish(new HttpError('network', `${url.host}: ${err.message}`)));
    });
    r.end(body);
  });
}

/** Parses a JSON response body, with a message that names the source on failure. */
export function jsonBody(res: HttpResponse, what: string): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new HttpError('network', `${what}: the response (HTTP ${res.status}) is not JSON`);
  }
}
