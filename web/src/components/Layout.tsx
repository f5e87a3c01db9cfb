// The frame around every page: navigation (a sidebar on wide screens, a menu on phones), the live
// stream's state, who is logged in, and logout.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useSession, useStreamStatus } from '../lib/hooks.ts';
import { useLocation } from '../lib/router.ts';
import { count } from '../lib/format.ts';

export const NAV: { href: string; label: string; adminOnly?: boolean }[] = [
  { href: '/', label: 'Overview' },
  { href: '/attackers', label: 'Attackers' },
  { href: '/credentials', label: 'Credentials' },
  { href: '/logs', label: 'Logs' },
  { href: '/attack', label: 'ATT&CK' },
  { href: '/deckies', label: 'Deckies' },
  { href: '/workers', label: 'Workers' },
  { href: '/webhooks', label: 'Webhooks', adminOnly: true },
];

function isActive(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

export function Layout({ children, onLogout }: { children: ComponentChildren; onLogout: () => void }) {
  const me = useSession();
  const status = useStreamStatus();
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  const stateLabel = { off: 'offline', connecting: 'connecting', live: 'live', retrying: 'reconnecting' }[status.state];
  return (
    <div class={menuOpen ? 'shell menu-open' : 'shell'}>
      <header class="topbar">
        <button type="button" class="menu-button" aria-label="menu" aria-expanded={menuOpen} onClick={() => setMenuOpen(!menuOpen)}>
          ☰
        </button>
        <a href="/" class="brand">
          DECNET
        </a>
        <span class={`stream-state ${status.state}`} title={`${status.detail}${status.dropped ? ` · ${count(status.dropped)} events dropped by the server (tab too slow)` : ''}`} data-testid="stream-state">
          <span class="dot" aria-hidden="true" />
          {stateLabel}
        </span>
        <span class="spacer" />
        {me && (
          <span class="who">
            <span class="who-name">{me.username}</span> <span class={`badge role-${me.role}`}>{me.role}</span>
          </span>
        )}
        <a href="/password" class="button small ghost">
          Password
        </a>
        <button type="button" class="small" onClick={onLogout}>
          Log out
        </button>
      </header>
      <nav class="sidebar" aria-label="pages">
        {NAV.filter((n) => !n.adminOnly || me?.role === 'admin').map((n) => (
          <a key={n.href} href={n.href} class={isActive(n.href, path) ? 'active' : undefined} aria-current={isActive(n.href, path) ? 'page' : undefined}>
            {n.label}
          </a>
        ))}
        <a href="/password" class={path === '/password' ? 'active nav-foot' : 'nav-foot'}>
          Change password
        </a>
      </nav>
      <main class="content">{children}</main>
    </div>
  );
}
