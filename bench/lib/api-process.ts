// Starts the built `decnet api` as its own process (as the fleet runs it) and logs in.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, NODE_FLAGS, spawnNode, stop, waitFor } from './measure.ts';

export const BENCH_ADMIN = 'benchadmin';
const FIRST = 'bench admin first passphrase';
const PASSWORD = 'bench admin passphrase now';

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** Node flags of the api process under `decnet up` with the default spec (192M cap → 144 MB old space). */
export const API_NODE_FLAGS = [...NODE_FLAGS, '--max-old-space-size=144'];

export async function startApiProcess(env: NodeJS.ProcessEnv, opts: { flags?: string[] } = {}): Promise<ApiProcess> {
  const runDir = env.DECNET_RUN_DIR!;
  const child = spawnNode([...(opts.flags ?? API_NODE_FLAGS), BIN, 'api'], {
    ...env,
    DECNET_API_PORT: '0',
    DECNET_ADMIN_USER: BENCH_ADMIN,
    DECNET_ADMIN_PASSWORD: FIRST,
    DECNET_LOGIN_ATTEMPTS: '10000',
  });
  let url = '';
  await waitFor(() => {
    try {
      const e = JSON.parse(readFileSync(join(runDir, 'api.json'), 'utf8')) as { url: string; pid: number };
      if (e.pid === child.pid) url = e.url;
    } catch {
      // not listening yet
    }
    return url !== '';
  }, 60_000, 'the API to listen');
  const post = async (path: string, body: unknown, token?: string) => {
    const r = await fetch(url + path.slice(1), { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  let login = await post('/api/v1/auth/login', { username: BENCH_ADMIN, password: PASSWORD });
  if (login.status !== 200) {
    const first = await post('/api/v1/auth/login', { username: BENCH_ADMIN, password: FIRST });
    if (first.status !== 200) throw new Error(`bench login failed: ${JSON.stringify(first.body)}`);
    await post('/api/v1/auth/change-password', { old_password: FIRST, new_password: PASSWORD }, first.body.access_token as string);
    login = await post('/api/v1/auth/login', { username: BENCH_ADMIN, password: PASSWORD });
  }
  return { child, url, token: login.body.access_token as string, stop: () => stop(child) };
}
