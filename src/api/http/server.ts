// The HTTP front door: node:http with bounded headers, bodies and timeouts. Every /api request goes
// through the same steps, in this order: route match (404/405), authentication (401) and role
// (403), path and query validation (422), body media type (415), size (413), JSON (400) and
// schema (422), then the handler. Anything else is a dashboard file.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApiContext } from '../context.ts';
import type { Router } from './router.ts';
import { HANDLED, RawJson, Reply, type ApiRequest, type RouteDef } from './route.ts';
import { HttpError, unauthorized } from './errors.ts';
import { ValidationError, parseQuery, validate } from './schema.ts';
import { authorize, type Principal } from '../auth/principal.ts';
import { errorMessage } from '../../core/errors.ts';

export const DEFAULT_MAX_BODY = 64 * 1024;
const MAX_URL = 8192;
const JSON_TYPE = /^application\/json\s*(;|$)/i;

export interface StaticHandler {
  serve(req: IncomingMessage, res: ServerResponse, path: string): void;
}

export interface ServerOptions {
  router: Router;
  ctx: ApiContext;
  statics: StaticHandler;
}

const API_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (body === undefined || status === 204 || status === 304) {
    res.writeHead(status, { ...API_HEADERS, ...headers });
    res.end();
    return;
  }
  const data = body instanceof RawJson ? body.bytes : JSON.stringify(body);
  res.writeHead(status, { ...API_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(res.req?.method === 'HEAD' ? undefined : data);
}

function peerIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // discard the rest; the response closes the connection
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `the request body is larger than ${limit} bytes`, { headers: { connection: 'close' } });
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}

export class ApiServer {
  readonly server: Server;
  private readonly o: ServerOptions;
  private readonly corsOrigins: Set<string>;

  constructor(o: ServerOptions) {
    this.o = o;
    this.corsOrigins = new Set(o.ctx.config.corsOrigins);
    this.server = createServer(
      {
        requestTimeout: 30_000,
        headersTimeout: 10_000,
        keepAliveTimeout: 5_000,
        maxHeaderSize: 16 * 1024,
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.maxHeadersCount = 100;
    this.server.maxConnections = 4096;
    this.server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy(err);
    });
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve({ host, port: typeof address === 'object' && address ? address.port : port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (url.length > MAX_URL || url[0] !== '/') {
      sendJson(res, url.length > MAX_URL ? 414 : 400, { detail: url.length > MAX_URL ? `the URL is longer than ${MAX_URL} characters` : 'malformed request target' });
      return;
    }
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/api' || path.startsWith('/api/')) {
      await this.api(req, res, path, q < 0 ? '' : url.slice(q + 1));
      return;
    }
    try {
      this.o.statics.serve(req, res, path);
    } catch (err) {
      this.fail(res, err, req);
    }
  }

  private cors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (!origin || !this.corsOrigins.has(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
        'access-control-allow-headers': 'authorization, content-type, last-event-id',
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    return false;
  }

  private async api(req: IncomingMessage, res: ServerResponse, path: string, search: string): Promise<void> {
    try {
      if (this.cors(req, res)) return;
      const match = this.o.router.match(req.method ?? 'GET', path);
      if (!match) throw new HttpError(404, `no such endpoint: ${req.method} ${path.slice(0, 200)} (GET /api/v1/openapi.json lists them)`);
      if ('allowed' in match) throw new HttpError(405, `${req.method} is not allowed here; use ${match.allowed.join(', ')}`, { headers: { allow: match.allowed.join(', ') } });
      const { route } = match;
      const ctx = this.o.ctx;
      const searchParams = new URLSearchParams(search);
      let principal: Principal | undefined;
      if (route.auth === 'ticket') {
        principal = await this.redeemTicket(searchParams.get('ticket'));
      } else if (route.auth !== 'public') {
        principal = await ctx.auth.authenticate(req.headers.authorization);
        authorize(principal, route.auth);
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(match.params)) {
        const schema = route.params?.[name];
        params[name] = schema ? validate<string>(schema, value, `path.${name}`) : value;
      }
      const query = parseQuery(route.query, searchParams, route.requiredQuery);
      const body = await this.body(req, route);
      const result = await route.handler({ params, query, body, principal, ip: peerIp(req), ctx, raw: req, res } satisfies ApiRequest);
      if (result === HANDLED) return;
      if (result instanceof Reply) sendJson(res, result.status, result.body, result.headers);
      else sendJson(res, 200, result);
    } catch (err) {
      this.fail(res, err, req);
    }
  }

  private async redeemTicket(ticket: string | null): Promise<Principal> {
    const ctx = this.o.ctx;
    const missing = 'this stream needs ?ticket=<ticket> from POST /api/v1/stream/ticket (tickets are single-use and short-lived)';
    if (!ticket || ticket.length > 128) throw unauthorized(missing);
    const uuid = ctx.tickets.redeem(ticket);
    if (!uuid) throw unauthorized('the stream ticket is unknown, used or expired; get a new one from POST /api/v1/stream/ticket');
    // The user may have been deleted or demoted since the ticket was minted.
    const user = await ctx.auth.user(uuid);
    if (!user) throw unauthorized('the user of this ticket no longer exists');
    const principal = ctx.auth.principalOf(user, 'stream-ticket', 0);
    authorize(principal, 'viewer');
    return principal;
  }

  private async body(req: IncomingMessage, route: RouteDef): Promise<unknown> {
    if (!route.body) {
      if (hasBody(req)) throw new HttpError(400, `${route.method} ${route.path} takes no request body`, { headers: { connection: 'close' } });
      return undefined;
    }
    const type = req.headers['content-type'];
    if (!hasBody(req)) {
      if (route.body.required?.length) throw new HttpError(422, 'the request needs a JSON body', { extra: { errors: route.body.required.map((k) => ({ at: `body.${k}`, message: 'is required' })) } });
      return validate(route.body, {}, 'body');
    }
    if (!type || !JSON_TYPE.test(type)) throw new HttpError(415, 'the request body must be JSON (Content-Type: application/json)', { headers: { connection: 'close' } });
    const raw = await readBody(req, route.maxBodyBytes ?? DEFAULT_MAX_BODY);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, `the request body is not valid JSON: ${errorMessage(err).slice(0, 200)}`);
    }
    return validate(route.body, parsed, 'body');
  }

  private fail(res: ServerResponse, err: unknown, req: IncomingMessage): void {
    if (err instanceof HttpError) {
      sendJson(res, err.status, { detail: err.message, ...(err.extra ?? {}) }, err.headers);
      return;
    }
    if (err instanceof ValidationError) {
      sendJson(res, 422, { detail: err.message, errors: err.problems });
      return;
    }
    const name = (err as Error | undefined)?.name;
    // Repository checks (bad values, search syntax, configuration text) name the field and the rule.
    if (name === 'DataError' || name === 'SearchSyntaxError' || name === 'ConfigError') {
      sendJson(res, 422, { detail: errorMessage(err) });
      return;
    }
    if (name === 'ConflictError' || name === 'VersionConflictError' || name === 'TopologyNotEditableError') {
      sendJson(res, 409, { detail: errorMessage(err) });
      return;
    }
    const errorId = randomUUID();
    this.o.ctx.log.error('request failed', { error_id: errorId, method: req.method, path: (req.url ?? '').split('?')[0].slice(0, 200), error: err instanceof Error ? err : String(err) });
    sendJson(res, 500, { detail: 'internal server error', error_id: errorId });
  }
}
