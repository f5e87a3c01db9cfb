// Runs the real `api` worker in a Host (bus 'local:', a private SQLite file, an ephemeral port) and
// gives tests a fetch-based client and logged-in tokens. Each test file gets its own API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';

export const ADMIN_PASSWORD = 'initial admin passphrase';
export const NEW_ADMIN_PASSWORD = 'the admin passphrase now';
export const VIEWER_PASSWORD = 'viewer passphrase ok';

/** Must run before anything reads the environment (import this module first). */
export function apiEnv(extra: Record<string, string> = {}): { root: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'decnet-api-test-'));
  Object.assign(process.env, {
    DECNET_DATA_DIR: join(root, 'data'),
    DECNET_RUN_DIR: join(root, 'run'),
    DECNET_DB_URL: `sqlite:${join(root, 'data', 'decnet.db')}`,
    DECNET_BUS_URL: 'local:',
    DECNET_ADMIN_USER: 'admin',
    DECNET_ADMIN_PASSWORD: ADMIN_PASSWORD,
    DECNET_API_HOST: '127.0.0.1',
    DECNET_API_PORT: '0',
    DECNET_LOG_LEVEL: process.env.DECNET_TEST_LOG_LEVEL ?? 'error',
    DECNET_LOGIN_ATTEMPTS: '10000',
    DECNET_HEALTH_INTERVAL_MS: '60000',
    DECNET_WEB_ROOT: join(root, 'web'),
    ...extra,
  });
  delete process.env.DECNET_JWT_SECRET;
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface Response {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export class Client {
  readonly base: string;
  constructor(base: string) {
    this.base = base.replace(/\/$/, '');
  }

  async call(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.base + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  get = (path: string, token?: string) => this.call('GET', path, { token });
  post = (path: string, body?: unknown, token?: string) => this.call('POST', path, { body, token });

  async login(username: string, password: string): Promise<string> {
    const r = await this.post('/api/v1/auth/login', { username, password });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
    return r.body.access_token as string;
  }
}

export interface RunningApi {
  client: Client;
  base: string;
  /** Admin token with the password already changed. */
  admin: string;
  viewer: string;
  /** Token of a user that still must change its password. */
  fresh: string;
  host: import('../../src/fleet/host.ts').Host;
  stop(): Promise<void>;
}

export async function startApi(opts: { users?: boolean } = {}): Promise<RunningApi> {
  const { Host } = await import('../../src/fleet/host.ts');
  const worker = (await import('../../src/api/worker.ts')).default;
  const { readApiEndpoint } = await import('../../src/api/endpoint-file.ts');
  const host = new Host({ name: 'api', workers: [{ def: worker, config: {} }], busUrl: 'local:', healthIntervalMs: 60_000, stopDeadlineMs: 5000 });
  await host.start();
  const endpoint = await waitFor(() => readApiEndpoint(), 15_000, 'the API to listen');
  const client = new Client(endpoint.url);
  let admin = '';
  let viewer = '';
  let fresh = '';
  if (opts.users !== false) {
    const first = await client.login('admin', ADMIN_PASSWORD);
    const changed = await client.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: ADMIN_PASSWORD, new_password: NEW_ADMIN_PASSWORD } });
    if (changed.status !== 200) throw new Error(`change-password: ${changed.status} ${changed.text}`);
    admin = await client.login('admin', NEW_ADMIN_PASSWORD);
    for (const [name, role] of [['viewer', 'viewer'], ['fresh', 'viewer']] as const) {
      const r = await client.call('POST', '/api/v1/config/users', { token: admin, body: { username: name, password: VIEWER_PASSWORD, role } });
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.text}`);
    }
    const v1 = await client.login('viewer', VIEWER_PASSWORD);
    const c = await client.call('POST', '/api/v1/auth/change-password', { token: v1, body: { old_password: VIEWER_PASSWORD, new_password: `${VIEWER_PASSWORD} 2` } });
    if (c.status !== 200) throw new Error(`viewer change-password: ${c.status} ${c.text}`);
    viewer = await client.login('viewer', `${VIEWER_PASSWORD} 2`);
    fresh = await client.login('fresh', VIEWER_PASSWORD);
  }
  return {
    client,
    base: endpoint.url,
    admin,
    viewer,
    fresh,
    host,
    stop: async () => {
      await host.stop('test done');
      const { closeSharedDatabase } = await import('../../src/db/connection.ts');
      await closeSharedDatabase();
    },
  };
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** A minimal EventSource over node:http: collects parsed events; `paused` stops reading the socket. */
export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  body = '';
  closed = false;
  private req: ReturnType<typeof httpRequest> | undefined;
  private res: import('node:http').IncomingMessage | undefined;
  private buffer = '';

  static open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    return new Promise((resolve, reject) => {
      c.req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        c.res = res;
        c.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.feed(chunk));
        res.on('end', () => (c.closed = true));
        res.on('error', () => (c.closed = true));
        resolve(c);
      });
      c.req.on('error', (err) => (c.res ? (c.closed = true) : reject(err)));
      c.req.end();
    });
  }

  private feed(chunk: string): void {
    if (this.status !== 200) {
      this.body += chunk;
      return;
    }
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const ev: SseEvent = { event: 'message', data: '' };
      let isComment = true;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        isComment = false;
        const i = line.indexOf(':');
        const field = i === -1 ? line : line.slice(0, i);
        const value = i === -1 ? '' : line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') ev.event = value;
        else if (field === 'data') ev.data += (ev.data ? '\n' : '') + value;
        else if (field === 'id') ev.id = value;
      }
      if (isComment) this.comments++;
      else this.events.push(ev);
    }
  }

  of(type: string): SseEvent[] {
    return this.events.filter((e) => e.event === type);
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req?.destroy();
    this.closed = true;
  }
}
