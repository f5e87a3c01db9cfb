// Fingerprint state: the prober's memory of the last JARM/HASSH/TCP fingerprint per attacker and
// port, to notice when an attacker rotates its tooling.
import type { Db } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface AttackerFingerprintStateTable {
  uuid: string;
  attacker_uuid: string;
  port: number;
  probe_type: string;
  last_hash: string;
  last_seen: string;
  rotation_count: number;
}

export interface FingerprintsTables {
  attacker_fingerprint_state: AttackerFingerprintStateTable;
}

export const TABLES = ['attacker_fingerprint_state'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('attacker_fingerprint_state')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('attacker_uuid', t.text, (c) => c.notNull().references('attackers.uuid').onDelete('cascade'))
    .addColumn('port', t.int, (c) => c.notNull())
    .addColumn('probe_type', t.text, (c) => c.notNull())
    .addColumn('last_hash', t.text, (c) => c.notNull())
    .addColumn('last_seen', t.text, (c) => c.notNull())
    .addColumn('rotation_count', t.int, (c) => c.notNull().defaultTo(0))
    .execute();
  await index(db, 'attacker_fingerprint_state', ['attacker_uuid', 'port', 'probe_type'], true);
}
