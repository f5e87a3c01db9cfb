// The API's error type: a status code and a `detail` the client can show (never a stack trace).

export class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Extra members of the error body next to `detail` (e.g. per-field problems). */
  readonly extra: Record<string, unknown> | undefined;
  constructor(status: number, detail: string, options: { headers?: Record<string, string>; extra?: Record<string, unknown> } = {}) {
    // An answer, not a bug: no stack trace (capturing one costs more than the rest of a refused request).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = limit;
    this.name = 'HttpError';
    this.status = status;
    this.headers = options.headers ?? {};
    this.extra = options.extra;
  }
}

export const badRequest = (detail: string) => new HttpError(400, detail);
export const notFound = (detail: string) => new HttpError(404, detail);
export const conflict = (detail: string) => new HttpError(409, detail);
export const forbidden = (detail: string) => new HttpError(403, detail);
export const unprocessable = (detail: string) => new HttpError(422, detail);
export const unavailable = (detail: string) => new HttpError(503, detail);

export function unauthorized(detail = 'not authenticated: send "Authorization: Bearer <access token>" (POST /api/v1/auth/login gives one)'): HttpError {
  return new HttpError(401, detail, { headers: { 'www-authenticate': 'Bearer' } });
}

export function tooManyRequests(detail: string, retryAfterS: number): HttpError {
  return new HttpError(429, detail, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterS))) } });
}
