// Attackers domain: one row per observed source IP (an observation, not an actor) and its
// behaviour profile, both written by the profiler.
import type { Bool, Db, Json, JsonNull } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface AttackersTable {
  uuid: string;
  /** Canonical IP text (values.ts ip()); unique: one row per address. */
  ip: string;
  identity_id: string | null;
  first_seen: string;
  last_seen: string;
  event_count: number;
  service_count: number;
  decky_count: number;
  bounty_count: number;
  credential_count: number;
  services: Json;
  deckies: Json;
  fingerprints: Json;
  commands: Json;
  traversal_path: string | null;
  is_traversal: Bool;
  country_code: string | null;
  country_source: string | null;
  asn: number | null;
  as_name: string | null;
  bgp_prefix: string | null;
  asn_source: string | null;
  rpki_status: string | null;
  rpki_source: string | null;
  ptr_record: string | null;
  rotation_count: number;
  last_rotation_at: string | null;
  ipv6_leak_count: number;
  last_ipv6_leak_at: string | null;
  last_ipv6_link_local: string | null;
  last_ipv6_iid_kind: string | null;
  last_ipv6_mac_oui: string | null;
  updated_at: string;
}

export interface AttackerBehaviorTable {
  attacker_uuid: string;
  os_guess: string | null;
  hop_distance: number | null;
  tcp_fingerprint: JsonNull;
  kex_order_raw: JsonNull;
  ssh_client_banners: JsonNull;
  retransmit_count: number | null;
  behavior_class: string | null;
  beacon_interval_s: number | null;
  beacon_jitter_pct: number | null;
  tool_guesses: JsonNull;
  timing_stats: JsonNull;
  phase_sequence: JsonNull;
  updated_at: string;
}

export interface AttackersTables {
  attackers: AttackersTable;
  attacker_behavior: AttackerBehaviorTable;
}

export const TABLES = ['attackers', 'attacker_behavior'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('attackers')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('ip', t.text, (c) => c.notNull().unique())
    .addColumn('identity_id', t.text, (c) => c.references('attacker_identities.uuid').onDelete('set null'))
    .addColumn('first_seen', t.text, (c) => c.notNull())
    .addColumn('last_seen', t.text, (c) => c.notNull())
    .addColumn('event_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('service_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('decky_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('bounty_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('credential_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('services', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('deckies', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('fingerprints', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('commands', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('traversal_path', t.text)
    .addColumn('is_traversal', t.bool, (c) => c.notNull().defaultTo(false))
    .addColumn('country_code', t.text)
    .addColumn('country_source', t.text)
    .addColumn('asn', t.bigint)
    .addColumn('as_name', t.text)
    .addColumn('bgp_prefix', t.text)
    .addColumn('asn_source', t.text)
    .addColumn('rpki_status', t.text)
    .addColumn('rpki_source', t.text)
    .addColumn('ptr_record', t.text)
    .addColumn('rotation_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('last_rotation_at', t.text)
    .addColumn('ipv6_leak_count', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('last_ipv6_leak_at', t.text)
    .addColumn('last_ipv6_link_local', t.text)
    .addColumn('last_ipv6_iid_kind', t.text)
    .addColumn('last_ipv6_mac_oui', t.text)
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
  for (const column of ['identity_id', 'first_seen', 'last_seen', 'country_code', 'asn', 'bgp_prefix', 'last_rotation_at', 'last_ipv6_leak_at', 'updated_at']) {
    await index(db, 'attackers', [column]);
  }
  await db.kysely.schema
    .createTable('attacker_behavior')
    .addColumn('attacker_uuid', t.text, (c) => c.primaryKey().references('attackers.uuid').onDelete('cascade'))
    .addColumn('os_guess', t.text)
    .addColumn('hop_distance', t.int)
    .addColumn('tcp_fingerprint', t.json)
    .addColumn('kex_order_raw', t.json)
    .addColumn('ssh_client_banners', t.json)
    .addColumn('retransmit_count', t.int)
    .addColumn('behavior_class', t.text)
    .addColumn('beacon_interval_s', t.real)
    .addColumn('beacon_jitter_pct', t.real)
    .addColumn('tool_guesses', t.json)
    .addColumn('timing_stats', t.json)
    .addColumn('phase_sequence', t.json)
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
}
