// Who is logged in: the access token (kept in memory and in sessionStorage, so a reload keeps the
// session but closing the tab ends it), the user's name and role, and whether the API insists on a
// password change first. Pages subscribe to changes; the API client reports auth failures here.
import type { ApiError } from './api.ts';

const STORAGE_KEY = 'decnet.session';

export type Role = 'viewer' | 'admin';

export interface SessionState {
  token: string;
  username: string;
  role: Role;
  mustChangePassword: boolean;
  /** Token expiry, epoch ms (0 when unknown). */
  expiresAt: number;
}

type Listener = () => void;

function load(): SessionState | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as SessionState;
    if (typeof s.token !== 'string' || typeof s.username !== 'string' || (s.role !== 'admin' && s.role !== 'viewer')) return null;
    if (s.expiresAt && s.expiresAt <= Date.now()) return null;
    return { ...s, mustChangePassword: s.mustChangePassword === true };
  } catch {
    return null;
  }
}

class Session {
  private state: SessionState | null = load();
  /** Why the last session ended (shown on the login screen). */
  endedBecause = '';
  private readonly listeners = new Set<Listener>();
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.armExpiry();
  }

  get current(): SessionState | null {
    return this.state;
  }

  get token(): string | null {
    return this.state?.token ?? null;
  }

  get isAdmin(): boolean {
    return this.state?.role === 'admin';
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(state: SessionState): void {
    this.state = state;
    this.endedBecause = '';
    this.save();
  }

  update(patch: Partial<SessionState>): void {
    if (!this.state) return;
    this.state = { ...this.state, ...patch };
    this.save();
  }

  end(reason = ''): void {
    if (!this.state && !reason) return;
    this.state = null;
    this.endedBecause = reason;
    this.save();
  }

  /** The API client calls this with every error of an authenticated request. */
  onApiError(err: ApiError): void {
    if (err.status === 401) this.end(err.message || 'the session ended; log in again');
    else if (err.status === 403 && /password change required/i.test(err.message) && this.state && !this.state.mustChangePassword) this.update({ mustChangePassword: true });
  }

  private save(): void {
    try {
      if (this.state) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.state));
      else sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage disabled: the session lives in memory only
    }
    this.armExpiry();
    for (const fn of this.listeners) fn();
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    const at = this.state?.expiresAt ?? 0;
    if (!at) return;
    // setTimeout cannot wait longer than ~24.8 days; tokens live minutes to hours.
    this.expiryTimer = setTimeout(() => this.end('the session expired; log in again'), Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1));
  }
}

export const session = new Session();
