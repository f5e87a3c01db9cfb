// Sessions: log in (rate-limited per client address and per user name), who am I, log out, change
// the password (required before anything else for the seeded admin and for reset accounts).
import { s } from '../http/schema.ts';
import { route, type ApiRequest, type RouteDef } from '../http/route.ts';
import { HttpError, tooManyRequests, unauthorized } from '../http/errors.ts';
import { API, MESSAGE, USERNAME, dbOf } from './common.ts';
import type { ApiContext } from '../context.ts';

const TAG = 'Auth';
// Bounds the hashing work one request can cause; the policy for new passwords is checked separately.
const PASSWORD_INPUT = s.string({ minLength: 1, maxLength: 1024, allowControl: true });
export const NEW_PASSWORD = s.string({ minLength: 12, maxLength: 1024, allowControl: true, description: 'at least 12 characters, not a well-known password' });

const USER_INFO = s.shape({
  uuid: s.string({ maxLength: 36 }),
  username: s.string({ maxLength: 64 }),
  role: s.enum(['viewer', 'admin']),
  must_change_password: s.bool(),
});

/** Runs password hashing under the process-wide limit; 429 when too many are already waiting. */
export async function hashing<T>(ctx: ApiContext, fn: () => Promise<T>): Promise<T> {
  const result = await ctx.limits.hashing.run(fn);
  if (!result) throw tooManyRequests('too many password operations are in progress; try again in a moment', 2);
  return result.value;
}

async function login(req: ApiRequest): Promise<unknown> {
  const { username, password } = req.body as { username: string; password: string };
  const { ctx } = req;
  // Both buckets must have room; a refused attempt takes from neither, so an address hammering one
  // user name does not also use up that name's attempts, nor the other way round.
  const ipKey = `ip:${req.ip}`;
  const userKey = `user:${username.toLowerCase()}`;
  const wait = Math.max(ctx.limits.loginByIp.retryAfterS(ipKey), ctx.limits.loginByUser.retryAfterS(userKey));
  if (wait > 0) {
    ctx.log.warn('login rate limit hit', { ip: req.ip, username: username.slice(0, 64) });
    throw tooManyRequests(`too many login attempts; try again in ${Math.ceil(wait)} s`, wait);
  }
  ctx.limits.loginByIp.take(ipKey);
  ctx.limits.loginByUser.take(userKey);
  const { verifyLogin } = await import('../../db/auth/repo.ts');
  const db = await dbOf(req);
  const user = await hashing(ctx, () => verifyLogin(db, username, password));
  if (!user) {
    ctx.log.info('login failed', { ip: req.ip, username: username.slice(0, 64) });
    throw unauthorized('incorrect username or password');
  }
  const { token, claims } = ctx.auth.issue(user);
  ctx.log.info('login', { ip: req.ip, username: user.username });
  return {
    access_token: token,
    token_type: 'bearer',
    expires_in: claims.exp - claims.iat,
    must_change_password: user.must_change_password,
    role: user.role,
    username: user.username,
  };
}

/** The seeded admin's one-time password file has served its purpose once that password is changed. */
async function forgetInitialPassword(username: string): Promise<void> {
  if (username !== (process.env.DECNET_ADMIN_USER || 'admin')) return;
  const { rmSync } = await import('node:fs');
  const { initialPasswordPath } = await import('../worker.ts');
  rmSync(initialPasswordPath(), { force: true });
}

async function changePassword(req: ApiRequest): Promise<unknown> {
  const { old_password, new_password } = req.body as { old_password: string; new_password: string };
  const { ctx } = req;
  const p = req.principal!;
  const limited = ctx.limits.passwordChange.takeAll([`user:${p.uuid}`]);
  if (!limited.ok) throw tooManyRequests(`too many password change attempts; try again in ${Math.ceil(limited.retryAfterS)} s`, limited.retryAfterS);
  const { verifyLogin, updatePassword } = await import('../../db/auth/repo.ts');
  const { passwordProblem } = await import('../../db/auth/password.ts');
  const db = await dbOf(req);
  const ok = await hashing(ctx, () => verifyLogin(db, p.username, old_password));
  if (!ok || ok.uuid !== p.uuid) throw new HttpError(400, 'old_password is incorrect');
  if (new_password === old_password) throw new HttpError(422, 'new_password must differ from the current password', { extra: { errors: [{ at: 'body.new_password', message: 'must differ from the current password' }] } });
  const problem = passwordProblem(new_password);
  if (problem) throw new HttpError(422, `new_password ${problem}`, { extra: { errors: [{ at: 'body.new_password', message: problem }] } });
  await hashing(ctx, () => updatePassword(db, p.uuid, new_password, { must_change_password: false }));
  ctx.auth.forgetUser(p.uuid);
  // Every session of this user, this one included, ended with the change (tokens_valid_from).
  await ctx.auth.revoke(p);
  ctx.log.info('password changed', { username: p.username });
  await forgetInitialPassword(p.username);
  return { message: 'password changed; log in again with the new password' };
}

export const authRoutes: RouteDef[] = [
  route({
    method: 'POST',
    path: `${API}/auth/login`,
    auth: 'public',
    tag: TAG,
    summary: 'Log in; returns a short-lived access token',
    description: 'Rate-limited per client address and per user name. When must_change_password is true, only change-password, me and logout work until the password is changed.',
    body: s.object({ username: USERNAME, password: PASSWORD_INPUT }, { required: ['username', 'password'] }),
    maxBodyBytes: 8 * 1024,
    responses: {
      200: {
        description: 'Logged in',
        schema: s.shape({
          access_token: s.string({ maxLength: 2048 }),
          token_type: s.enum(['bearer']),
          expires_in: s.int(0, 86_400, { description: 'seconds' }),
          must_change_password: s.bool(),
          role: s.enum(['viewer', 'admin']),
          username: s.string({ maxLength: 64 }),
        }),
      },
      401: { description: 'Wrong user name or password' },
      429: { description: 'Too many attempts from this address or for this user name' },
    },
    handler: login,
  }),
  route({
    method: 'GET',
    path: `${API}/auth/me`,
    auth: 'self',
    tag: TAG,
    summary: 'The logged-in user',
    responses: { 200: { description: 'The user behind the token', schema: s.shape({ ...USER_INFO.properties, token_expires_at: s.string({ maxLength: 40 }) }) } },
    handler: (req) => {
      const p = req.principal!;
      return { uuid: p.uuid, username: p.username, role: p.role, must_change_password: p.mustChangePassword, token_expires_at: new Date(p.exp * 1000).toISOString() };
    },
  }),
  route({
    method: 'POST',
    path: `${API}/auth/logout`,
    auth: 'self',
    tag: TAG,
    summary: 'End this session (the token stops working at once)',
    responses: { 200: { description: 'Logged out', schema: MESSAGE } },
    handler: async (req) => {
      await req.ctx.auth.revoke(req.principal!);
      return { message: 'logged out' };
    },
  }),
  route({
    method: 'POST',
    path: `${API}/auth/change-password`,
    auth: 'self',
    tag: TAG,
    summary: 'Change your password; every session of yours ends, log in again',
    body: s.object({ old_password: PASSWORD_INPUT, new_password: NEW_PASSWORD }, { required: ['old_password', 'new_password'] }),
    maxBodyBytes: 8 * 1024,
    responses: { 200: { description: 'Changed', schema: MESSAGE }, 400: { description: 'The old password is wrong' }, 429: { description: 'Too many attempts' } },
    handler: changePassword,
  }),
];
