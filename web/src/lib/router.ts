// A small history router: the api worker answers every page path with index.html, so plain URLs
// (/attackers/<uuid>) work on reload and can be shared. Links are ordinary <a href> elements; one
// document-level click handler turns same-origin clicks into pushState navigation.
import { useEffect, useState } from 'preact/hooks';

type Listener = () => void;
const listeners = new Set<Listener>();

export interface Location {
  path: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: location.pathname.replace(/\/+$/, '') || '/', query: new URLSearchParams(location.search) };
}

function notify(): void {
  for (const fn of listeners) fn();
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const target = new URL(to, location.href);
  if (target.origin !== location.origin) {
    location.href = target.href;
    return;
  }
  const href = target.pathname + target.search + target.hash;
  if (href === location.pathname + location.search + location.hash) return;
  if (opts.replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  notify();
  if (!opts.replace) window.scrollTo(0, 0);
}

/** Replaces query parameters of the current page without adding a history entry per keystroke. */
export function setQuery(patch: Record<string, string | number | null | undefined>, opts: { push?: boolean } = {}): void {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined || v === '') params.delete(k);
    else params.set(k, String(v));
  }
  const search = params.toString();
  navigate(location.pathname + (search ? `?${search}` : ''), { replace: !opts.push });
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return loc;
}

window.addEventListener('popstate', notify);

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const href = a.getAttribute('href');
  if (!href || href.startsWith('#') || /^[a-z]+:/i.test(href)) return;
  e.preventDefault();
  navigate(href);
});

/** Matches `/attackers/:id`-style patterns; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.split('/');
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) {
      if (!s[i]) return null;
      try {
        params[p[i].slice(1)] = decodeURIComponent(s[i]);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) return null;
  }
  return params;
}
