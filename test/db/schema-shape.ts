// A comparable description of a database's schema (tables, columns, indexes, constraints), to
// check that a schema built after an interruption equals one built in one go.
import { sql } from 'kysely';
import type { Db } from '../../src/db/types.ts';

export async function schemaShape(db: Db): Promise<string[]> {
  if (db.dialect === 'sqlite') {
    const { rows } = await sql<{ type: string; name: string; sql: string | null }>`select type, name, sql from sqlite_master where name not like 'sqlite_%' order by type, name`.execute(db.kysely);
    return rows.map((r) => `${r.type} ${r.name}: ${r.sql ?? ''}`);
  }
  const columns = await sql<{ t: string; c: string; d: string; n: string; def: string | null }>`
    select table_name as t, column_name as c, data_type as d, is_nullable as n, column_default as def
    from information_schema.columns where table_schema = current_schema() order by table_name, column_name`.execute(db.kysely);
  const indexes = await sql<{ name: string; def: string }>`
    select indexname as name, regexp_replace(indexdef, ' ON [a-z0-9_]+\\.', ' ON ') as def
    from pg_indexes where schemaname = current_schema() order by indexname`.execute(db.kysely);
  const constraints = await sql<{ name: string; def: string }>`
    select conname as name, pg_get_constraintdef(c.oid) as def from pg_constraint c
    join pg_namespace n on n.oid = c.connamespace where n.nspname = current_schema() order by conname`.execute(db.kysely);
  return [
    ...columns.rows.map((r) => `column ${r.t}.${r.c} ${r.d} ${r.n} ${r.def ?? ''}`),
    ...indexes.rows.map((r) => `index ${r.name}: ${r.def}`),
    ...constraints.rows.map((r) => `constraint ${r.name}: ${r.def}`),
  ];
}

export async function tableNames(db: Db): Promise<string[]> {
  const { rows } =
    db.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(db.kysely)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() order by table_name`.execute(db.kysely);
  return rows.map((r) => r.name);
}
