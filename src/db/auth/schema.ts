// Auth domain: dashboard users and the deny-list of revoked tokens.
import { sql } from 'kysely';
import type { Bool, Db } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export const ROLES = ['viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UsersTable {
  uuid: string;
  username: string;
  /** scrypt$N$r$p$salt$hash (password.ts). */
  password_hash: string;
  role: string;
  must_change_password: Bool;
  /** Tokens issued before this instant are invalid (bulk revocation). */
  tokens_valid_from: string | null;
  created_at: string;
  updated_at: string;
}

export interface RevokedTokensTable {
  jti: string;
  user_uuid: string | null;
  expires_at: string;
  revoked_at: string;
}

export interface AuthTables {
  users: UsersTable;
  revoked_tokens: RevokedTokensTable;
}

export const TABLES = ['users', 'revoked_tokens'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('users')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('username', t.text, (c) => c.notNull().unique())
    .addColumn('password_hash', t.text, (c) => c.notNull())
    .addColumn('role', t.text, (c) => c.notNull().defaultTo('viewer').check(sql`role in ('viewer', 'admin')`))
    .addColumn('must_change_password', t.bool, (c) => c.notNull().defaultTo(false))
    .addColumn('tokens_valid_from', t.text)
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();

  await db.kysely.schema
    .createTable('revoked_tokens')
    .addColumn('jti', t.text, (c) => c.primaryKey())
    .addColumn('user_uuid', t.text)
    .addColumn('expires_at', t.text, (c) => c.notNull())
    .addColumn('revoked_at', t.text, (c) => c.notNull())
    .execute();
  await index(db, 'revoked_tokens', ['user_uuid']);
  await index(db, 'revoked_tokens', ['expires_at']);
}
