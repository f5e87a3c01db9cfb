// How numbers, times and sizes read on screen.

const pad = (n: number) => String(n).padStart(2, '0');

/** Local wall-clock time HH:MM:SS (the feed). */
export function clock(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local date and time YYYY-MM-DD HH:MM:SS. */
export function dateTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(iso)}`;
}

/** "3 s", "5 min", "2 h", "4 d". */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

export function ago(iso: string | number | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const t = typeof iso === 'number' ? iso : Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  return `${duration((now - t) / 1000)} ago`;
}

/** KiB → "12.3 MB" (decimal megabytes of 1024 KiB, as `decnet mem` prints). */
export function kib(kb: number | null | undefined): string {
  if (kb === null || kb === undefined || !Number.isFinite(kb)) return '—';
  if (kb < 1024) return `${Math.round(kb)} KiB`;
  return `${(kb / 1024).toFixed(1)} MiB`;
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US');
}

/** One line of what an event was about: user name, command, path … */
export function eventSummary(fields: Record<string, unknown> | null | undefined, msg?: string | null): string {
  if (!fields) return msg ?? '';
  const f = fields;
  const parts: string[] = [];
  const text = (k: string) => (typeof f[k] === 'string' || typeof f[k] === 'number' || typeof f[k] === 'boolean' ? String(f[k]) : '');
  if (text('command')) parts.push(`$ ${text('command')}`);
  else if (text('cmd')) parts.push(`$ ${text('cmd')}`);
  const user = text('username') || text('user') || text('principal');
  if (user) parts.push(`user ${user}`);
  const pass = text('password');
  if (pass) parts.push(`pass ${pass}`);
  const success = text('success') || text('outcome');
  if (success) parts.push(success === 'true' ? 'accepted' : success === 'false' ? 'rejected' : success);
  const method = text('method');
  const path = text('path') || text('uri') || text('url');
  if (method || path) parts.push(`${method} ${path}`.trim());
  if (text('client_version') || text('client_banner')) parts.push(text('client_version') || text('client_banner'));
  if (parts.length === 0 && msg) parts.push(msg);
  const line = parts.join(' · ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** A value of unknown shape, readable in one line. */
export function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    const text = JSON.stringify(v);
    return text.length > 300 ? `${text.slice(0, 299)}…` : text;
  } catch {
    return String(v);
  }
}
