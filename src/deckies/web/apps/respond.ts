// Small response builders shared by the fake applications.
import { randomBytes } from 'node:crypto';
import type { HttpResponse } from '../http-server.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#039;' })[c]!);
}

export function html(body: string, status = 200, headers: ReadonlyArray<readonly [string, string]> = [], contentType = 'text/html; charset=UTF-8'): HttpResponse {
  return { status, contentType, headers, body };
}

export function json(value: unknown, status = 200, headers: ReadonlyArray<readonly [string, string]> = []): HttpResponse {
  return { status, contentType: 'application/json; charset=UTF-8', headers, body: JSON.stringify(value) };
}

/** A redirect as a PHP or servlet application issues it (empty body, Location header). */
export function redirect(location: string, headers: ReadonlyArray<readonly [string, string]> = [], status = 302): HttpResponse {
  return { status, contentType: 'text/html; charset=UTF-8', headers: [...headers, ['Location', location]], body: '' };
}

/** Random-looking but per-call token (CSRF tokens, session ids). */
export function token(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}
