// The one way the dashboard talks to /api/v1: JSON in and out, the bearer token from the session,
// and errors carrying the API's `detail` so every page can show what went wrong and how to fix it.
import { session } from './session.ts';

export const API = '/api/v1';

export class ApiError extends Error {
  readonly status: number;
  /** Per-field problems of a 422, when the API lists them. */
  readonly problems: { at: string; message: string }[];
  constructor(status: number, detail: string, problems: { at: string; message: string }[] = []) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.problems = problems;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Send no token (login). */
  anonymous?: boolean;
}

/** The standard list envelope. */
export interface Page<T> {
  total: number;
  limit: number;
  offset: number;
  data: T[];
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function errorOf(res: Response): Promise<ApiError> {
  let detail = `${res.status} ${res.statusText || 'error'}`;
  let problems: { at: string; message: string }[] = [];
  try {
    const body = (await res.json()) as { detail?: unknown; errors?: unknown; error?: unknown };
    if (typeof body.detail === 'string') detail = body.detail;
    else if (typeof body.error === 'string') detail = body.error;
    if (Array.isArray(body.errors)) problems = body.errors.filter((e): e is { at: string; message: string } => typeof e?.at === 'string' && typeof e?.message === 'string');
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 429) {
    const retry = res.headers.get('retry-after');
    if (retry && !/\d+ ?s\b/.test(detail)) detail += ` (retry in ${retry} s)`;
  }
  return new ApiError(res.status, detail, problems);
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = session.token;
  if (token && !opts.anonymous) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(`${API}${path}${queryString(opts.query)}`, { method: opts.method ?? 'GET', headers, body, signal: opts.signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'the API did not answer; is the api worker running?');
  }
  if (!res.ok) {
    const error = await errorOf(res);
    if (!opts.anonymous && token) session.onApiError(error);
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

/** True when a 403 means "change your password first" rather than "not allowed". */
export function isPasswordChangeRequired(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403 && /password change required|must change/i.test(err.message);
}
