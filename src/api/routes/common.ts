// Schemas and helpers shared by the route modules.
import { s, type ObjectSchema, type Schema } from '../http/schema.ts';
import type { ApiRequest } from '../http/route.ts';
import type { Database, Db } from '../../db/types.ts';

export const API = '/api/v1';

export const UUID = s.string({ maxLength: 36, pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', format: 'uuid', description: 'a UUID' });
export const NAME = s.string({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'letters, digits, _ . -' });
export const USERNAME = s.string({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]{1,64}$', description: '1-64 letters, digits, _ . @ -' });
export const IP = s.string({ maxLength: 45, pattern: '^[0-9A-Fa-f.:]{2,45}$', description: 'an IPv4 or IPv6 address' });
export const SERVICE = s.string({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_-]{1,64}$', description: 'a decoy service name' });
export const TIME = s.string({
  maxLength: 40,
  pattern: '^\\d{4}-\\d{2}-\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?)?(Z|[+-]\\d{2}:?\\d{2})?$',
  description: 'ISO-8601 time, e.g. 2024-05-01T12:00:00Z (UTC when no zone is given)',
});
export const SEARCH = s.string({ maxLength: 512, description: 'search expression: decky:X service:X event:X attacker:IP key:value "quoted text" word' });
export const TEXT_FILTER = s.string({ maxLength: 256, description: 'substring to look for' });

export const PAGING = {
  limit: s.int(1, 1000, { default: 50, description: 'rows per page' }),
  offset: s.int(0, 2_147_483_647, { default: 0, description: 'rows to skip' }),
};

export function paging(maxLimit: number, defaultLimit = 50): typeof PAGING {
  return { limit: s.int(1, maxLimit, { default: defaultLimit, description: 'rows per page' }), offset: PAGING.offset };
}

/** Response schema of the list envelope. */
export function pageOf(item: Schema): ObjectSchema {
  return s.shape(
    {
      total: s.int(0, Number.MAX_SAFE_INTEGER, { description: 'rows that match, over all pages' }),
      limit: s.int(1, 1000),
      offset: s.int(0, 2_147_483_647),
      data: s.array(item, 1000),
    },
    { required: ['total', 'limit', 'offset', 'data'] },
  );
}

export const MESSAGE = s.shape({ message: s.string({ maxLength: 256 }) });

/** The database for writes. */
export async function dbOf(req: ApiRequest): Promise<Database> {
  return req.ctx.db();
}

/** The database for reads (off the event loop on SQLite). */
export async function readOf(req: ApiRequest): Promise<Db> {
  return req.ctx.readDb();
}

/** Only the named members of an object (response shaping). */
export function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = o[k];
  return out;
}
