// What `decnet up` tells the operator about the dashboard: before the fleet starts, the schema is
// migrated and the admin account seeded in a short child process (so the launcher itself never
// loads the database code), which yields a generated first password to show once; after the API
// is listening, its URL and how to log in the first time.
import { execFile } from 'node:child_process';
import { isAlive } from '../fleet/host-state.ts';
import { decnetEntry } from '../fleet/launcher.ts';
import { readApiEndpoint } from '../api/endpoint-file.ts';

export interface AdminSeed {
  username: string;
  created: boolean;
  generated_password?: string;
  error?: string;
}

/** Runs `decnet db migrate --json` and returns what it did to the admin account. */
export function seedAdminAccount(timeoutMs = 120_000): Promise<AdminSeed> {
  return new Promise((resolve) => {
    execFile(process.execPath, [decnetEntry(), 'db', 'migrate', '--json'], { timeout: timeoutMs, maxBuffer: 1024 * 1024, env: process.env }, (err, stdout, stderr) => {
      const username = process.env.DECNET_ADMIN_USER || 'admin';
      if (err) {
        resolve({ username, created: false, error: (stderr || err.message).trim().split('\n').pop() });
        return;
      }
      try {
        const admin = (JSON.parse(stdout) as { admin?: AdminSeed }).admin;
        resolve(admin ? { username: admin.username, created: admin.created, generated_password: admin.generated_password } : { username, created: false });
      } catch {
        resolve({ username, created: false, error: 'unexpected output from `decnet db migrate`' });
      }
    });
  });
}

/** Waits for the API of this fleet to listen; undefined if it does not within the time. */
export async function waitForDashboard(timeoutMs: number, signal?: AbortSignal): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    const e = readApiEndpoint();
    if (e && isAlive(e.pid)) return e.url;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

export function firstLoginLines(url: string | undefined, seed: AdminSeed): string[] {
  const lines = [url ? `dashboard: ${url}` : 'dashboard: the API did not report its address yet; see `decnet status` and the api log'];
  if (seed.error) lines.push(`  could not prepare the admin account: ${seed.error}`);
  else if (seed.generated_password) {
    lines.push(`  first login: user "${seed.username}", password ${seed.generated_password}`);
    lines.push('  (shown this once and stored nowhere in clear; you must choose a new password at first login)');
  } else if (seed.created) {
    lines.push(`  first login: user "${seed.username}" with the password in DECNET_ADMIN_PASSWORD; you must choose a new one at first login`);
  } else {
    lines.push(`  log in as "${seed.username}" (or another account created in the dashboard)`);
  }
  return lines;
}
