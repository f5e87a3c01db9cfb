// Small building blocks shared by the pages: error and empty states, the pager, cards, badges.
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { ApiError } from '../lib/api.ts';
import { count } from '../lib/format.ts';

export function ErrorBox({ error, what }: { error: Error | undefined; what?: string }) {
  if (!error) return null;
  const status = error instanceof ApiError && error.status ? ` (${error.status})` : '';
  const problems = error instanceof ApiError ? error.problems : [];
  return (
    <div class="error" role="alert">
      <strong>{what ? `Could not load ${what}${status}: ` : `Error${status}: `}</strong>
      {error.message}
      {problems.length > 0 && (
        <ul>
          {problems.map((p) => (
            <li key={p.at}>
              <code>{p.at}</code> {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p class="muted loading">{what}…</p>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}

export function Card({ title, children, actions, class: cls = '' }: { title?: ComponentChildren; children: ComponentChildren; actions?: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${cls}`}>
      {(title || actions) && (
        <header class="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function Stat({ label, value, hint }: { label: string; value: ComponentChildren; hint?: string }) {
  return (
    <div class="stat" title={hint}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

export function Badge({ kind = '', children, title }: { kind?: string; children: ComponentChildren; title?: string }) {
  return (
    <span class={`badge ${kind}`} title={title}>
      {children}
    </span>
  );
}

/** Prev / next over a {total, limit, offset} page. */
export function Pager({ total, limit, offset, onOffset }: { total: number; limit: number; offset: number; onOffset: (offset: number) => void }) {
  if (total <= limit && offset === 0) return total > 0 ? <div class="pager muted">{count(total)} in total</div> : null;
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        ‹ Previous
      </button>
      <span>
        {count(first)}–{count(last)} of {count(total)}
      </span>
      <button type="button" disabled={offset + limit >= total} onClick={() => onOffset(offset + limit)}>
        Next ›
      </button>
    </nav>
  );
}

export function PageTitle({ title, children }: { title: string; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · DECNET`;
  }, [title]);
  return (
    <div class="page-title">
      <h1>{title}</h1>
      {children && <div class="page-tools">{children}</div>}
    </div>
  );
}

/** Key/value list for detail pages. */
export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The attacker page of an address. A query, not a path segment: the server takes a last segment
 * with a dot in it (every IPv4 address) for a file name. */
export const attackerHref = (ip: string) => `/attackers/lookup?ip=${encodeURIComponent(ip)}`;
