// Auth repository: dashboard users, the seeded admin, and revoked tokens.
import type { Kysely } from 'kysely';
import { ConfigError } from '../../core/errors.ts';
import { uuidv7 } from '../../core/ids.ts';
import type { Db } from '../types.ts';
import { ROLES, type AuthTables, type Role } from './schema.ts';
import { UNUSABLE_HASH, generatePassword, hashPassword, passwordProblem, verifyPassword } from './password.ts';
import { inTransaction } from '../query.ts';
import { ConflictError, DataError, bool, fromBool, name, nowIso, num, oneOf, optName, text, time } from '../values.ts';

export type { Role };

export interface UserRow {
  uuid: string;
  username: string;
  role: Role;
  must_change_password: boolean;
  tokens_valid_from: string | null;
  created_at: string;
  updated_at: string;
}

const q = (db: Db) => db.kysely as Kysely<AuthTables>;
const USERNAME = /^[A-Za-z0-9_.@-]{1,64}$/;
const PUBLIC = ['uuid', 'username', 'role', 'must_change_password', 'tokens_valid_from', 'created_at', 'updated_at'] as const;

function username(value: unknown): string {
  const s = text('username', value, 'name');
  if (!USERNAME.test(s)) throw new DataError('username', 'must be 1-64 characters of letters, digits, _ . @ -');
  return s;
}

function newPassword(value: unknown): string {
  const problem = passwordProblem(value);
  if (problem) throw new DataError('password', problem);
  return value as string;
}

const decode = (r: Record<string, unknown>): UserRow => ({ ...(r as unknown as UserRow), must_change_password: fromBool(r.must_change_password) });

export async function createUser(db: Db, u: { username: string; password: string; role?: Role; must_change_password?: boolean }): Promise<UserRow> {
  const now = nowIso();
  const row = {
    uuid: uuidv7(),
    username: username(u.username),
    password_hash: await hashPassword(newPassword(u.password)),
    role: oneOf('role', u.role ?? 'viewer', ROLES),
    must_change_password: u.must_change_password === undefined ? false : bool('must_change_password', u.must_change_password),
    tokens_valid_from: null,
    created_at: now,
    updated_at: now,
  };
  const result = await q(db).insertInto('users').values(row).onConflict((oc) => oc.column('username').doNothing()).executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw new ConflictError(`user ${row.username} already exists`);
  const { password_hash: _h, ...rest } = row;
  return decode(rest as Record<string, unknown>);
}

export async function getUserByUsername(db: Db, name_: string): Promise<UserRow | undefined> {
  if (typeof name_ !== 'string' || !USERNAME.test(name_)) return undefined;
  const row = await q(db).selectFrom('users').select(PUBLIC).where('username', '=', name_).executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

export async function getUserByUuid(db: Db, uuid: string): Promise<UserRow | undefined> {
  const row = await q(db).selectFrom('users').select(PUBLIC).where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

export async function listUsers(db: Db): Promise<UserRow[]> {
  return (await q(db).selectFrom('users').select(PUBLIC).orderBy('username').execute()).map((r) => decode(r as Record<string, unknown>));
}

/**
 * Checks a login. Returns the user when the password matches; an unknown user costs the same
 * hashing time as a wrong password, so timing does not reveal which usernames exist.
 */
export async function verifyLogin(db: Db, user: string, password: string): Promise<UserRow | undefined> {
  const row = typeof user === 'string' && USERNAME.test(user) ? await q(db).selectFrom('users').selectAll().where('username', '=', user).executeTakeFirst() : undefined;
  const ok = await verifyPassword(typeof password === 'string' ? password : '', row?.password_hash ?? UNUSABLE_HASH);
  if (!row || !ok) return undefined;
  const { password_hash: _h, ...rest } = row;
  return decode(rest as Record<string, unknown>);
}

/** Sets a new password; tokens issued before now stop being valid. */
export async function updatePassword(db: Db, uuid: string, password: string, options: { must_change_password?: boolean } = {}): Promise<void> {
  const hash = await hashPassword(newPassword(password));
  const now = nowIso();
  const result = await q(db)
    .updateTable('users')
    .set({ password_hash: hash, must_change_password: options.must_change_password ?? false, tokens_valid_from: now, updated_at: now })
    .where('uuid', '=', name('uuid', uuid))
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new DataError('uuid', `no user ${uuid}`);
}

async function adminCount(tx: Db): Promise<number> {
  return num((await q(tx).selectFrom('users').select((eb) => eb.fn.countAll().as('n')).where('role', '=', 'admin').executeTakeFirst())?.n);
}

/** Changes a user's role; the last admin cannot be demoted. */
export async function updateRole(db: Db, uuid: string, role: Role): Promise<void> {
  const r = oneOf('role', role, ROLES);
  await inTransaction(db, async (tx) => {
    const user = await q(tx).selectFrom('users').select('role').where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
    if (!user) throw new DataError('uuid', `no user ${uuid}`);
    if (user.role === 'admin' && r !== 'admin' && (await adminCount(tx)) <= 1) throw new ConflictError('this is the last admin; make another user admin first');
    await q(tx).updateTable('users').set({ role: r, tokens_valid_from: nowIso(), updated_at: nowIso() }).where('uuid', '=', uuid).execute();
  });
}

/** Deletes a user; the last admin cannot be deleted. */
export async function deleteUser(db: Db, uuid: string): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const user = await q(tx).selectFrom('users').select('role').where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
    if (!user) return false;
    if (user.role === 'admin' && (await adminCount(tx)) <= 1) throw new ConflictError('this is the last admin; it cannot be deleted');
    await q(tx).deleteFrom('users').where('uuid', '=', uuid).execute();
    return true;
  });
}

/** Invalidates every token of a user issued before `from` (default now). */
export async function setTokensValidFrom(db: Db, uuid: string, from: string | Date | number = Date.now()): Promise<void> {
  await q(db).updateTable('users').set({ tokens_valid_from: time('from', from), updated_at: nowIso() }).where('uuid', '=', name('uuid', uuid)).execute();
}

const JTI = /^[A-Za-z0-9_-]{8,128}$/;

/** Adds a token to the deny-list until it expires; expired entries are pruned on the way. */
export async function revokeToken(db: Db, jti: string, userUuid: string | null, expiresAt: string | Date | number): Promise<void> {
  if (typeof jti !== 'string' || !JTI.test(jti)) throw new DataError('jti', 'must be 8-128 characters of letters, digits, _ and -');
  const now = nowIso();
  await inTransaction(db, async (tx) => {
    await q(tx).deleteFrom('revoked_tokens').where('expires_at', '<', now).execute();
    await q(tx)
      .insertInto('revoked_tokens')
      .values({ jti, user_uuid: optName('user_uuid', userUuid), expires_at: time('expires_at', expiresAt), revoked_at: now })
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  });
}

export async function isTokenRevoked(db: Db, jti: string): Promise<boolean> {
  if (typeof jti !== 'string' || !JTI.test(jti)) return true; // a malformed id is never valid
  return (await q(db).selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()) !== undefined;
}

export interface SeedResult {
  username: string;
  created: boolean;
  /** The stored hash was reset from DECNET_ADMIN_PASSWORD (the admin had not changed it yet). */
  resynced: boolean;
  /** Set only when a password was generated: show it to the operator once; it is not stored anywhere. */
  generated_password?: string;
}

/**
 * Makes sure the admin account exists: DECNET_ADMIN_USER (default admin) with
 * DECNET_ADMIN_PASSWORD, or a generated password returned once. It must be changed at first
 * login. While it has not been changed, a new DECNET_ADMIN_PASSWORD replaces the old one.
 */
export async function seedAdmin(db: Db, env: NodeJS.ProcessEnv = process.env): Promise<SeedResult> {
  const user = env.DECNET_ADMIN_USER || 'admin';
  if (!USERNAME.test(user)) throw new ConfigError(`DECNET_ADMIN_USER=${JSON.stringify(user)} must be 1-64 characters of letters, digits, _ . @ -`);
  const fromEnv = env.DECNET_ADMIN_PASSWORD === '' ? undefined : env.DECNET_ADMIN_PASSWORD;
  if (fromEnv !== undefined) {
    const problem = passwordProblem(fromEnv);
    if (problem) throw new ConfigError(`DECNET_ADMIN_PASSWORD ${problem}`);
  }
  const existing = await q(db).selectFrom('users').select(['uuid', 'password_hash', 'must_change_password']).where('username', '=', user).executeTakeFirst();
  if (existing) {
    if (fromEnv !== undefined && fromBool(existing.must_change_password) && !(await verifyPassword(fromEnv, existing.password_hash))) {
      await q(db).updateTable('users').set({ password_hash: await hashPassword(fromEnv), updated_at: nowIso() }).where('uuid', '=', existing.uuid).execute();
      return { username: user, created: false, resynced: true };
    }
    return { username: user, created: false, resynced: false };
  }
  const password = fromEnv ?? generatePassword();
  const now = nowIso();
  const result = await q(db)
    .insertInto('users')
    .values({ uuid: uuidv7(), username: user, password_hash: await hashPassword(password), role: 'admin', must_change_password: true, tokens_valid_from: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('username').doNothing())
    .executeTakeFirst();
  const created = Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  // another process seeding at the same moment won the race: its password stands
  return { username: user, created, resynced: false, ...(created && fromEnv === undefined ? { generated_password: password } : {}) };
}
