// Login throttling against the real API: per client address and per user name, each on its own
// (clients connect from different loopback addresses).
import { ADMIN_PASSWORD, apiEnv, startApi, type RunningApi } from './harness.ts';
const env = apiEnv({ DECNET_LOGIN_ATTEMPTS: '3' });
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';

let api: RunningApi;

before(async () => {
  api = await startApi({ users: false });
});

after(async () => {
  await api.stop();
  env.cleanup();
});

function login(from: string, username: string, password: string): Promise<{ status: number; retryAfter: string | undefined; body: { detail?: string } }> {
  const url = new URL(api.base);
  const body = JSON.stringify({ username, password });
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: '/api/v1/auth/login', method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('too many attempts from one address are refused, even with the right password', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await login('127.0.0.2', 'someone', `wrong password ${i}`)).status, 401);
  const blocked = await login('127.0.0.2', 'admin', ADMIN_PASSWORD);
  assert.equal(blocked.status, 429);
  assert.match(blocked.body.detail ?? '', /too many login attempts/);
  assert.ok(Number(blocked.retryAfter) >= 1, 'Retry-After says when to come back');
  // another address is not affected
  assert.equal((await login('127.0.0.3', 'admin', ADMIN_PASSWORD)).status, 200);
});

test('too many attempts on one user name are refused from any address', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await login(`127.0.0.${10 + i}`, 'target', `guess number ${i}`)).status, 401);
  const r = await login('127.0.0.20', 'target', 'another guess');
  assert.equal(r.status, 429);
  // the refused attempt did not cost that address its own attempts
  assert.equal((await login('127.0.0.20', 'someone-else', 'a guess')).status, 401);
  assert.equal((await login('127.0.0.20', 'someone-else', 'a guess')).status, 401);
  assert.equal((await login('127.0.0.20', 'admin', ADMIN_PASSWORD)).status, 200);
});
