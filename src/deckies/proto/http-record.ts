// What the HTTP API decoys (Elasticsearch, Docker, Kubernetes) record for each request: one
// `request` event with the bounded essentials, and an `auth_attempt` whenever credentials came
// along (Basic, Bearer, ApiKey …), the secret kept out of the request fields.
import type { EventFields, Session } from '../service.ts';
import { parseAuthorization, type HttpRequest } from './http1.ts';

const BODY_PREFIX = 1024;
const HEADERS_JSON = 1024;

/** The body as text for the log: UTF-8 prefix, with binary shown as base64. */
export function bodyPreview(req: HttpRequest, max = BODY_PREFIX): string | undefined {
  if (req.body.length === 0) return undefined;
  const slice = req.body.subarray(0, max);
  const text = slice.toString('utf8');
  const printable = !/[\x00-\x08\x0e-\x1f]/.test(text);
  return printable ? text : 'base64:' + slice.toString('base64');
}

/** Headers minus Authorization (which goes to auth_attempt), as bounded JSON. */
export function headersJson(req: HttpRequest): string {
  const kept = req.rawHeaders.filter(([n]) => n.toLowerCase() !== 'authorization' && n.toLowerCase() !== 'cookie').map(([n, v]) => [n, v.slice(0, 256)]);
  const text = JSON.stringify(kept);
  return text.length > HEADERS_JSON ? text.slice(0, HEADERS_JSON) + '…' : text;
}

export function recordRequest(session: Session, req: HttpRequest, extra: EventFields = {}): void {
  session.record('request', {
    method: req.method,
    path: req.path.slice(0, 1024),
    query: req.query ? req.query.slice(0, 1024) : undefined,
    version: req.version,
    host: req.headers['host']?.slice(0, 256),
    user_agent: req.headers['user-agent']?.slice(0, 512),
    content_type: req.headers['content-type']?.slice(0, 128),
    headers: headersJson(req),
    body: bodyPreview(req),
    body_len: req.bodyLength || undefined,
    body_truncated: req.bodyTruncated || undefined,
    authorization: req.headers['authorization'] ? (req.headers['authorization'].split(' ')[0] ?? '').slice(0, 32) : undefined,
    ...extra,
  });
}

/** Records an auth_attempt when the request carries an Authorization header; returns what it found. */
export function recordAuth(session: Session, req: HttpRequest, extra: EventFields = {}): { scheme: string; username?: string; secret: string } | null {
  const auth = parseAuthorization(req.headers['authorization']);
  if (!auth) return null;
  const kind = auth.scheme === 'basic' ? 'plaintext' : auth.scheme === 'bearer' ? 'http_bearer' : auth.scheme === 'apikey' ? 'http_apikey' : `http_${auth.scheme.slice(0, 16)}`;
  session.record(
    'auth_attempt',
    { username: auth.username?.slice(0, 256), auth_method: auth.scheme.slice(0, 32), secret_kind: kind, path: req.path.slice(0, 256), success: false, ...extra },
    auth.secret ? { secret: auth.secret } : undefined,
  );
  return auth;
}

/** Decodes `%xx` in a path segment; malformed escapes are kept as they are. */
export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function queryParams(query: string): URLSearchParams {
  return new URLSearchParams(query.slice(0, 4096));
}
