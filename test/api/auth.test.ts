// Sessions end to end against the real API: login, the forced password change of the seeded admin,
// logout and password/role changes revoking tokens, forged and malformed tokens, users CRUD rules.
import { ADMIN_PASSWORD, NEW_ADMIN_PASSWORD, VIEWER_PASSWORD, apiEnv, startApi, type RunningApi } from './harness.ts';
const env = apiEnv();
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

let api: RunningApi;

before(async () => {
  api = await startApi({ users: false });
});

after(async () => {
  await api.stop();
  env.cleanup();
});

const token = (r: { body: { access_token: string } }) => r.body.access_token;

function forge(payload: Record<string, unknown>, secret: string | Buffer, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${enc(header)}.${enc(payload)}`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
}

test('the seeded admin must change its password before anything else', async () => {
  const c = api.client;
  const wrong = await c.post('/api/v1/auth/login', { username: 'admin', password: 'not the password at all' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');
  assert.match(wrong.body.detail, /incorrect username or password/);
  const unknown = await c.post('/api/v1/auth/login', { username: 'nobody', password: 'whatever password' });
  assert.equal(unknown.status, 401);

  const login = await c.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
  assert.equal(login.status, 200);
  assert.equal(login.body.must_change_password, true);
  assert.equal(login.body.token_type, 'bearer');
  assert.equal(login.body.expires_in, 15 * 60);
  const first = token(login);

  const gated = await c.get('/api/v1/logs', first);
  assert.equal(gated.status, 403);
  assert.match(gated.body.detail, /password change required/);
  assert.equal((await c.get('/api/v1/config/users', first)).status, 403);
  const me = await c.get('/api/v1/auth/me', first);
  assert.equal(me.status, 200);
  assert.equal(me.body.username, 'admin');
  assert.equal(me.body.must_change_password, true);

  const bad = await c.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: 'wrong old password', new_password: NEW_ADMIN_PASSWORD } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.detail, /old_password is incorrect/);
  const weak = await c.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: ADMIN_PASSWORD, new_password: 'passwordpassword' } });
  assert.equal(weak.status, 422);
  assert.match(weak.body.detail, /too easy to guess/);
  const same = await c.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: ADMIN_PASSWORD, new_password: ADMIN_PASSWORD } });
  assert.equal(same.status, 422);
  const short = await c.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: ADMIN_PASSWORD, new_password: 'short' } });
  assert.equal(short.status, 422);
  assert.equal(short.body.errors[0].at, 'body.new_password');

  const ok = await c.call('POST', '/api/v1/auth/change-password', { token: first, body: { old_password: ADMIN_PASSWORD, new_password: NEW_ADMIN_PASSWORD } });
  assert.equal(ok.status, 200, ok.text);
  // the change ended every session, this one included
  assert.equal((await c.get('/api/v1/auth/me', first)).status, 401);
  assert.equal((await c.post('/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD })).status, 401);
  const again = await c.post('/api/v1/auth/login', { username: 'admin', password: NEW_ADMIN_PASSWORD });
  assert.equal(again.body.must_change_password, false);
  assert.equal((await c.get('/api/v1/logs', token(again))).status, 200);
});

test('logout kills that token only; other sessions keep working', async () => {
  const c = api.client;
  const a = await c.login('admin', NEW_ADMIN_PASSWORD);
  const b = await c.login('admin', NEW_ADMIN_PASSWORD);
  const out = await c.post('/api/v1/auth/logout', undefined, a);
  assert.equal(out.status, 200);
  const dead = await c.get('/api/v1/auth/me', a);
  assert.equal(dead.status, 401);
  assert.match(dead.body.detail, /logged out/);
  assert.equal((await c.get('/api/v1/auth/me', b)).status, 200);
});

test('forged, tampered, expired and malformed tokens are refused with 401', async () => {
  const c = api.client;
  const good = await c.login('admin', NEW_ADMIN_PASSWORD);
  const me = (await c.get('/api/v1/auth/me', good)).body;
  const secret = readFileSync(join(process.env.DECNET_DATA_DIR!, 'jwt.secret'), 'utf8').trim();
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: me.uuid, jti: 'abcdefghijklmnop', iat: now, exp: now + 600, iat_ms: Date.now(), iss: 'decnet', aud: 'decnet-dashboard', typ: 'access' };
  // the real key signs a token the server accepts: the forgery checks below fail for the right reason
  assert.equal((await c.get('/api/v1/auth/me', forge(claims, secret))).status, 200);
  const cases: [string, string][] = [
    ['another key', forge(claims, 'x'.repeat(48))],
    ['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`],
    ['other header', forge(claims, secret, { alg: 'HS256', typ: 'JWT', kid: 'x' })],
    ['expired', forge({ ...claims, exp: now - 1 }, secret)],
    ['wrong audience', forge({ ...claims, aud: 'someone-else' }, secret)],
    ['refresh type', forge({ ...claims, typ: 'refresh' }, secret)],
    ['unknown user', forge({ ...claims, sub: '01900000-0000-7000-8000-000000000000' }, secret)],
    ['tampered payload', good.replace(/\.([^.]+)\./, (_m, p: string) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'x' })).toString('base64url')}.`)],
    ['garbage', 'not-a-token'],
    ['huge', 'a'.repeat(5000)],
  ];
  for (const [what, t] of cases) {
    const r = await c.get('/api/v1/auth/me', t);
    assert.equal(r.status, 401, what);
    assert.equal(typeof r.body.detail, 'string', what);
  }
  assert.equal((await c.call('GET', '/api/v1/auth/me', { headers: { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` } })).status, 401);
  assert.equal((await c.get('/api/v1/auth/me')).status, 401);
});

test('users: admins manage accounts, nobody can remove or demote themselves, changes end sessions', async () => {
  const c = api.client;
  const admin = await c.login('admin', NEW_ADMIN_PASSWORD);
  const me = (await c.get('/api/v1/auth/me', admin)).body;
  const created = await c.call('POST', '/api/v1/config/users', { token: admin, body: { username: 'analyst', password: VIEWER_PASSWORD } });
  assert.equal(created.status, 201);
  assert.equal(created.body.role, 'viewer');
  assert.equal(created.body.must_change_password, true);
  assert.equal(created.body.password_hash, undefined);
  assert.equal((await c.call('POST', '/api/v1/config/users', { token: admin, body: { username: 'analyst', password: VIEWER_PASSWORD } })).status, 409);
  assert.equal((await c.call('POST', '/api/v1/config/users', { token: admin, body: { username: 'weakling', password: 'passwordpassword' } })).status, 422);
  assert.equal((await c.call('POST', '/api/v1/config/users', { token: admin, body: { username: 'bad name!', password: VIEWER_PASSWORD } })).status, 422);
  assert.equal((await c.call('POST', '/api/v1/config/users', { token: admin, body: { username: 'x', password: VIEWER_PASSWORD, role: 'root' } })).status, 422);

  const list = await c.get('/api/v1/config/users', admin);
  assert.deepEqual(list.body.map((u: { username: string }) => u.username).sort(), ['admin', 'analyst']);

  assert.equal((await c.call('DELETE', `/api/v1/config/users/${me.uuid}`, { token: admin })).status, 403);
  assert.equal((await c.call('PUT', `/api/v1/config/users/${me.uuid}/role`, { token: admin, body: { role: 'viewer' } })).status, 403);
  assert.equal((await c.call('PUT', `/api/v1/config/users/${me.uuid}/reset-password`, { token: admin, body: { new_password: 'whatever it is now' } })).status, 403);

  // an analyst session ends when an admin changes the role or resets the password
  const analystFirst = await c.login('analyst', VIEWER_PASSWORD);
  await c.call('POST', '/api/v1/auth/change-password', { token: analystFirst, body: { old_password: VIEWER_PASSWORD, new_password: 'analyst passphrase 2' } });
  const analyst = await c.login('analyst', 'analyst passphrase 2');
  assert.equal((await c.get('/api/v1/logs', analyst)).status, 200);
  assert.equal((await c.get('/api/v1/config/users', analyst)).status, 403, 'a viewer is not an admin');
  const uuid = created.body.uuid;
  assert.equal((await c.call('PUT', `/api/v1/config/users/${uuid}/role`, { token: admin, body: { role: 'admin' } })).status, 200);
  assert.equal((await c.get('/api/v1/logs', analyst)).status, 401, 'role change ended the session');
  const promoted = await c.login('analyst', 'analyst passphrase 2');
  assert.equal((await c.get('/api/v1/config/users', promoted)).status, 200, 'now an admin');

  const reset = await c.call('PUT', `/api/v1/config/users/${uuid}/reset-password`, { token: admin, body: { new_password: 'reset by the admin 1' } });
  assert.equal(reset.status, 200);
  assert.equal((await c.get('/api/v1/auth/me', promoted)).status, 401);
  const afterReset = await c.login('analyst', 'reset by the admin 1');
  assert.equal((await c.get('/api/v1/logs', afterReset)).status, 403, 'a reset account must change its password');

  // demote back; then the original admin is the last admin and cannot be demoted by the other one
  assert.equal((await c.call('PUT', `/api/v1/config/users/${uuid}/role`, { token: admin, body: { role: 'viewer' } })).status, 200);
  assert.equal((await c.call('DELETE', '/api/v1/config/users/01900000-0000-7000-8000-000000000000', { token: admin })).status, 404);
  assert.equal((await c.call('PUT', '/api/v1/config/users/not-a-uuid/role', { token: admin, body: { role: 'viewer' } })).status, 422);
  const del = await c.call('DELETE', `/api/v1/config/users/${uuid}`, { token: admin });
  assert.equal(del.status, 204);
  assert.equal((await c.get('/api/v1/auth/me', afterReset)).status, 401, 'a deleted user has no sessions');
});
