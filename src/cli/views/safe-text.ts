// Attacker-supplied text on an operator's terminal: control characters (escape sequences could
// move the cursor, retitle the window or hide lines) and bidirectional overrides are shown as
// visible escapes, and long values are cut with an ellipsis.

const UNSAFE = /[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]/g;

export function safeText(value: unknown, max = 80): string {
  if (value === null || value === undefined) return '-';
  let s = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  s = s.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  if (s.length > max) s = s.slice(0, Math.max(1, max - 1)) + '…';
  return s === '' ? '-' : s;
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) of a stored ISO time. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}
