// PostgreSQL through `pg` and Kysely's Postgres dialect. Loaded only when DECNET_DB_URL asks for
// postgres://, so SQLite processes never load the driver.
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';

export interface PostgresOptions {
  /** Connection string as given to `pg` (without our own `schema` parameter). */
  connectionString: string;
  /** Schema to create if missing and put first on the search path; null keeps the server default. */
  schema: string | null;
  poolSize: number;
  /** For messages: the URL with the password masked. */
  displayUrl: string;
  onPoolError?: (err: Error) => void;
}

const INT8_OID = 20;

export async function openPostgresKysely(options: PostgresOptions): Promise<Kysely<any>> {
  const pg = (await import('pg')).default;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    // The schema name was checked to be a plain identifier, so it is safe in the startup options.
    options: options.schema ? `-c search_path=${options.schema}` : undefined,
    // COUNT(*) and BIGINT ids arrive as int8; every value we store fits a double exactly.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server connection emits 'error' on the pool; without a listener
  // that would end the process. The pool replaces the client; the next query reconnects.
  pool.on('error', (err) => options.onPoolError?.(err));
  const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (options.schema) {
      try {
        await kysely.executeQuery(CompiledQuery.raw(`create schema if not exists "${options.schema}"`));
      } catch (err) {
        // Two processes creating the schema at once: the loser sees a unique violation.
        if ((err as { code?: string }).code !== '23505' && (err as { code?: string }).code !== '42P06') throw err;
      }
    }
    await kysely.executeQuery(CompiledQuery.raw('select 1'));
  } catch (err) {
    await kysely.destroy().catch(() => undefined);
    throw new Error(`cannot use PostgreSQL at ${options.displayUrl}: ${(err as Error).message}`, { cause: err });
  }
  return kysely;
}
