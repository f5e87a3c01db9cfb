// TTP domain: MITRE ATT&CK tags per (source event, technique, rule), the rule mirror of the
// database rule store, and the operational state of each rule.
import { sql } from 'kysely';
import type { Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface TtpTagTable {
  /** Deterministic UUIDv5 over the tag's identity (repo.ts ttpTagUuid), so re-tagging inserts nothing. */
  uuid: string;
  source_kind: string;
  source_id: string;
  attacker_uuid: string | null;
  identity_uuid: string | null;
  session_id: string | null;
  decky_id: string | null;
  tactic: string | null;
  technique_id: string;
  sub_technique_id: string | null;
  confidence: number;
  rule_id: string;
  rule_version: number;
  evidence: Json;
  attack_release: string | null;
  mitre_url: string | null;
  created_at: string;
}

export interface TtpRuleTable {
  rule_id: string;
  rule_version: number;
  source_path: string | null;
  yaml_content: string;
  updated_at: string;
  updated_by: string | null;
}

export interface TtpRuleStateTable {
  rule_id: string;
  state: string;
  confidence_max: number | null;
  expires_at: string | null;
  reason: string | null;
  set_by: string | null;
  set_at: string;
}

export interface TtpTables {
  ttp_tag: TtpTagTable;
  ttp_rule: TtpRuleTable;
  ttp_rule_state: TtpRuleStateTable;
}

export const TABLES = ['ttp_tag', 'ttp_rule', 'ttp_rule_state'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('ttp_tag')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('source_kind', t.text, (c) => c.notNull())
    .addColumn('source_id', t.text, (c) => c.notNull())
    .addColumn('attacker_uuid', t.text, (c) => c.references('attackers.uuid').onDelete('cascade'))
    .addColumn('identity_uuid', t.text, (c) => c.references('attacker_identities.uuid').onDelete('cascade'))
    .addColumn('session_id', t.text)
    .addColumn('decky_id', t.text)
    .addColumn('tactic', t.text)
    .addColumn('technique_id', t.text, (c) => c.notNull())
    .addColumn('sub_technique_id', t.text)
    .addColumn('confidence', t.real, (c) => c.notNull())
    .addColumn('rule_id', t.text, (c) => c.notNull())
    .addColumn('rule_version', t.int, (c) => c.notNull())
    .addColumn('evidence', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('attack_release', t.text)
    .addColumn('mitre_url', t.text)
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addCheckConstraint('ttp_tag_subject_check', sql`attacker_uuid is not null or identity_uuid is not null`)
    .addCheckConstraint('ttp_tag_confidence_check', sql`confidence >= 0 and confidence <= 1`)
    .execute();
  await index(db, 'ttp_tag', ['identity_uuid', 'technique_id']);
  await index(db, 'ttp_tag', ['attacker_uuid', 'technique_id']);
  await index(db, 'ttp_tag', ['technique_id', 'created_at']);
  await index(db, 'ttp_tag', ['session_id']);

  await db.kysely.schema
    .createTable('ttp_rule')
    .addColumn('rule_id', t.text, (c) => c.primaryKey())
    .addColumn('rule_version', t.int, (c) => c.notNull())
    .addColumn('source_path', t.text)
    .addColumn('yaml_content', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addColumn('updated_by', t.text)
    .execute();

  await db.kysely.schema
    .createTable('ttp_rule_state')
    .addColumn('rule_id', t.text, (c) => c.primaryKey())
    .addColumn('state', t.text, (c) => c.notNull().check(sql`state in ('enabled', 'disabled', 'clipped')`))
    .addColumn('confidence_max', t.real)
    .addColumn('expires_at', t.text)
    .addColumn('reason', t.text)
    .addColumn('set_by', t.text)
    .addColumn('set_at', t.text, (c) => c.notNull())
    .execute();
}
