// Dashboard accounts (admin only). New and reset accounts must change their password at first
// login; a role change or reset ends the user's sessions. Nobody can delete or demote themselves,
// and the last admin can be neither deleted nor demoted.
import { s } from '../http/schema.ts';
import { created, noContent, route, type ApiRequest, type RouteDef } from '../http/route.ts';
import { HttpError, forbidden, notFound } from '../http/errors.ts';
import { API, MESSAGE, USERNAME, UUID, dbOf } from './common.ts';
import { NEW_PASSWORD, hashing } from './auth.ts';

const TAG = 'Users';
const ROLE = s.enum(['viewer', 'admin']);
export const USER = s.shape({
  uuid: s.string({ maxLength: 36 }),
  username: s.string({ maxLength: 64 }),
  role: ROLE,
  must_change_password: s.bool(),
  created_at: s.string({ maxLength: 40 }),
  updated_at: s.string({ maxLength: 40 }),
});

function policy(problem: string | undefined): void {
  if (problem) throw new HttpError(422, `password ${problem}`, { extra: { errors: [{ at: 'body.password', message: problem }] } });
}

async function existing(req: ApiRequest): Promise<void> {
  const { getUserByUuid } = await import('../../db/auth/repo.ts');
  if (!(await getUserByUuid(await dbOf(req), req.params.uuid))) throw notFound('no such user');
}

function publicUser(u: { uuid: string; username: string; role: string; must_change_password: boolean; created_at: string; updated_at: string }) {
  return { uuid: u.uuid, username: u.username, role: u.role, must_change_password: u.must_change_password, created_at: u.created_at, updated_at: u.updated_at };
}

export const userRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/config/users`,
    auth: 'admin',
    tag: TAG,
    summary: 'Every dashboard account',
    responses: { 200: { description: 'Accounts, by name', schema: s.array(USER, 10_000) } },
    handler: async (req) => {
      const { listUsers } = await import('../../db/auth/repo.ts');
      return (await listUsers(await dbOf(req))).map(publicUser);
    },
  }),
  route({
    method: 'POST',
    path: `${API}/config/users`,
    auth: 'admin',
    tag: TAG,
    summary: 'Create an account (it must change its password at first login)',
    body: s.object({ username: USERNAME, password: NEW_PASSWORD, role: { ...ROLE, default: 'viewer' } }, { required: ['username', 'password'] }),
    maxBodyBytes: 8 * 1024,
    responses: { 201: { description: 'Created', schema: USER }, 409: { description: 'The user name is taken' } },
    handler: async (req) => {
      const { username, password, role } = req.body as { username: string; password: string; role: 'viewer' | 'admin' };
      const { passwordProblem } = await import('../../db/auth/password.ts');
      policy(passwordProblem(password));
      const { createUser } = await import('../../db/auth/repo.ts');
      const db = await dbOf(req);
      const user = await hashing(req.ctx, () => createUser(db, { username, password, role, must_change_password: true }));
      req.ctx.log.info('user created', { username, role, by: req.principal!.username });
      return created(publicUser(user));
    },
  }),
  route({
    method: 'PUT',
    path: `${API}/config/users/{uuid}/role`,
    auth: 'admin',
    tag: TAG,
    summary: "Change a user's role (ends their sessions)",
    params: { uuid: UUID },
    body: s.object({ role: ROLE }, { required: ['role'] }),
    responses: { 200: { description: 'Changed', schema: MESSAGE }, 409: { description: 'It is the last admin' } },
    handler: async (req) => {
      if (req.params.uuid === req.principal!.uuid) throw forbidden('you cannot change your own role; ask another admin');
      await existing(req);
      const { updateRole } = await import('../../db/auth/repo.ts');
      await updateRole(await dbOf(req), req.params.uuid, req.body.role);
      req.ctx.auth.forgetUser(req.params.uuid);
      req.ctx.log.info('role changed', { user: req.params.uuid, role: req.body.role, by: req.principal!.username });
      return { message: `role set to ${req.body.role}` };
    },
  }),
  route({
    method: 'PUT',
    path: `${API}/config/users/{uuid}/reset-password`,
    auth: 'admin',
    tag: TAG,
    summary: "Set a user's password (they must change it at next login; their sessions end)",
    params: { uuid: UUID },
    body: s.object({ new_password: NEW_PASSWORD }, { required: ['new_password'] }),
    maxBodyBytes: 8 * 1024,
    responses: { 200: { description: 'Reset', schema: MESSAGE } },
    handler: async (req) => {
      if (req.params.uuid === req.principal!.uuid) throw forbidden('use POST /api/v1/auth/change-password for your own password');
      await existing(req);
      const { passwordProblem } = await import('../../db/auth/password.ts');
      const problem = passwordProblem(req.body.new_password);
      if (problem) throw new HttpError(422, `new_password ${problem}`, { extra: { errors: [{ at: 'body.new_password', message: problem }] } });
      const { updatePassword } = await import('../../db/auth/repo.ts');
      const db = await dbOf(req);
      await hashing(req.ctx, () => updatePassword(db, req.params.uuid, req.body.new_password, { must_change_password: true }));
      req.ctx.auth.forgetUser(req.params.uuid);
      req.ctx.log.info('password reset', { user: req.params.uuid, by: req.principal!.username });
      return { message: 'password reset; the user must change it at next login' };
    },
  }),
  route({
    method: 'DELETE',
    path: `${API}/config/users/{uuid}`,
    auth: 'admin',
    tag: TAG,
    summary: 'Delete an account',
    params: { uuid: UUID },
    responses: { 204: { description: 'Deleted' }, 409: { description: 'It is the last admin' } },
    handler: async (req) => {
      if (req.params.uuid === req.principal!.uuid) throw forbidden('you cannot delete your own account');
      const { deleteUser } = await import('../../db/auth/repo.ts');
      if (!(await deleteUser(await dbOf(req), req.params.uuid))) throw notFound('no such user');
      req.ctx.auth.forgetUser(req.params.uuid);
      req.ctx.log.info('user deleted', { user: req.params.uuid, by: req.principal!.username });
      return noContent();
    },
  }),
];
