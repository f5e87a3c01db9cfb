// SMTP targets: victim domains an attacker tried to reach through the mail decoys (domains only;
// local parts are never stored).
import type { AutoId, Db } from '../types.ts';
import { autoId, columnTypes, index } from '../ddl.ts';

export interface SmtpTargetsTable {
  id: AutoId;
  attacker_uuid: string;
  domain: string;
  first_seen: string;
  last_seen: string;
  count: number;
}

export interface SmtpTables {
  smtp_targets: SmtpTargetsTable;
}

export const TABLES = ['smtp_targets'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await autoId(db.kysely.schema.createTable('smtp_targets'), db.dialect)
    .addColumn('attacker_uuid', t.text, (c) => c.notNull().references('attackers.uuid').onDelete('cascade'))
    .addColumn('domain', t.text, (c) => c.notNull())
    .addColumn('first_seen', t.text, (c) => c.notNull())
    .addColumn('last_seen', t.text, (c) => c.notNull())
    .addColumn('count', t.int, (c) => c.notNull().defaultTo(0))
    .execute();
  await index(db, 'smtp_targets', ['attacker_uuid', 'domain'], true);
}
