// Login, and the password change: forced for a new or reset account (the API refuses everything
// else until it is done), voluntary from the top bar otherwise. A successful change ends every
// session of the user on the server, so the form logs in again with the new password by itself.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api.ts';
import { session, type Role } from '../lib/session.ts';
import { ErrorBox } from '../components/ui.tsx';
import { navigate } from '../lib/router.ts';

interface LoginAnswer {
  access_token: string;
  expires_in?: number;
  must_change_password: boolean;
  role?: Role;
  username?: string;
}

interface Me {
  username: string;
  role: Role;
  must_change_password: boolean;
  token_expires_at?: string;
}

export async function logIn(username: string, password: string): Promise<void> {
  const answer = await api<LoginAnswer>('/auth/login', { method: 'POST', body: { username, password }, anonymous: true });
  const expiresAt = answer.expires_in ? Date.now() + answer.expires_in * 1000 - 5_000 : 0;
  let role = answer.role;
  let name = answer.username ?? username;
  if (!role) {
    // Older API versions: ask who we are.
    session.start({ token: answer.access_token, username: name, role: 'viewer', mustChangePassword: answer.must_change_password, expiresAt });
    const me = await api<Me>('/auth/me');
    role = me.role;
    name = me.username;
  }
  session.start({ token: answer.access_token, username: name, role, mustChangePassword: answer.must_change_password, expiresAt });
}

/** Ends the session on the server (the token stops working at once) and here. */
export async function logOut(): Promise<void> {
  try {
    await api('/auth/logout', { method: 'POST' });
  } catch {
    // the token may already be invalid: the session ends either way
  }
  session.end('Logged out.');
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** The client-side check mirrors the server's policy so the user hears about it before submitting. */
export function passwordProblem(pw: string, confirm: string, old: string): string | undefined {
  if (pw.length < 12) return 'The new password needs at least 12 characters.';
  if (utf8Length(pw) > 1024) return 'The new password is too long.';
  if (pw === old) return 'The new password must differ from the current one.';
  if (pw !== confirm) return 'The two new passwords do not match.';
  return undefined;
}

export function LoginPage() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const ended = session.endedBecause;
  useEffect(() => {
    document.title = 'Log in · DECNET';
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await logIn(username.trim(), password);
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  }

  return (
    <div class="auth-screen">
      <form class="auth-card" onSubmit={submit} aria-label="log in">
        <h1>DECNET</h1>
        <p class="muted">Honeypot deception network</p>
        {ended && !error && <p class="notice">{ended}</p>}
        <label>
          User name
          <input name="username" autocomplete="username" required maxLength={64} value={username} onInput={(e) => setUsername(e.currentTarget.value)} autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required maxLength={1024} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </div>
  );
}

export function ChangePasswordPage({ forced }: { forced: boolean }) {
  const me = session.current;
  const [old, setOld] = useState('');
  const [pw, setPw] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  useEffect(() => {
    document.title = 'Password · DECNET';
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    const problem = passwordProblem(pw, confirm, old);
    if (problem) {
      setError(new Error(problem));
      return;
    }
    if (!me) return;
    setBusy(true);
    setError(undefined);
    try {
      await api('/auth/change-password', { method: 'POST', body: { old_password: old, new_password: pw } });
    } catch (err) {
      setBusy(false);
      setError(err instanceof ApiError && err.status === 400 ? new Error('The current password is not correct.') : (err as Error));
      return;
    }
    setDone(true);
    // The change ended this session on the server: log in again with the new password.
    try {
      await logIn(me.username, pw);
      navigate('/', { replace: true });
    } catch (err) {
      session.end('Password changed. Log in with the new password.');
      setError(err as Error);
    }
  }

  return (
    <div class={forced ? 'auth-screen' : 'narrow'}>
      <form class="auth-card" onSubmit={submit} aria-label="change password" noValidate>
        <h1>{forced ? 'Choose a new password' : 'Change password'}</h1>
        {forced && <p class="notice">This account must set its own password before it can use the dashboard.</p>}
        <p class="muted">
          Logged in as <strong>{me?.username}</strong>. At least 12 characters; every other session of this account ends.
        </p>
        <label>
          Current password
          <input name="old_password" type="password" autocomplete="current-password" required value={old} onInput={(e) => setOld(e.currentTarget.value)} autoFocus />
        </label>
        <label>
          New password
          <input name="new_password" type="password" autocomplete="new-password" required minLength={12} value={pw} onInput={(e) => setPw(e.currentTarget.value)} />
        </label>
        <label>
          New password again
          <input name="confirm_password" type="password" autocomplete="new-password" required minLength={12} value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        </label>
        <ErrorBox error={error} />
        {done && !error && <p class="notice">Password changed; logging in again…</p>}
        <div class="row">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Saving…' : 'Change password'}
          </button>
          {forced ? (
            <button type="button" class="ghost" onClick={() => void logOut()}>
              Log out
            </button>
          ) : (
            <a class="button ghost" href="/">
              Cancel
            </a>
          )}
        </div>
      </form>
    </div>
  );
}
