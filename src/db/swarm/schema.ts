// Swarm domain: enrolled worker hosts and the placement of deckies on them.
import type { Bool, Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface SwarmHostsTable {
  uuid: string;
  name: string;
  address: string;
  agent_port: number;
  status: string;
  last_heartbeat: string | null;
  client_cert_fingerprint: string | null;
  updater_cert_fingerprint: string | null;
  cert_bundle_path: string | null;
  enrolled_at: string;
  notes: string | null;
  use_ipvlan: Bool;
}

export interface DeckyShardsTable {
  decky_name: string;
  host_uuid: string;
  services: Json;
  decky_config: Json;
  decky_ip: string | null;
  state: string;
  last_error: string | null;
  compose_hash: string | null;
  last_seen: string | null;
  updated_at: string;
}

export interface SwarmTables {
  swarm_hosts: SwarmHostsTable;
  decky_shards: DeckyShardsTable;
}

export const TABLES = ['swarm_hosts', 'decky_shards'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('swarm_hosts')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('name', t.text, (c) => c.notNull().unique())
    .addColumn('address', t.text, (c) => c.notNull())
    .addColumn('agent_port', t.int, (c) => c.notNull().defaultTo(8765))
    .addColumn('status', t.text, (c) => c.notNull().defaultTo('enrolled'))
    .addColumn('last_heartbeat', t.text)
    .addColumn('client_cert_fingerprint', t.text)
    .addColumn('updater_cert_fingerprint', t.text)
    .addColumn('cert_bundle_path', t.text)
    .addColumn('enrolled_at', t.text, (c) => c.notNull())
    .addColumn('notes', t.text)
    .addColumn('use_ipvlan', t.bool, (c) => c.notNull().defaultTo(false))
    .execute();
  await index(db, 'swarm_hosts', ['status']);
  await index(db, 'swarm_hosts', ['client_cert_fingerprint']);

  await db.kysely.schema
    .createTable('decky_shards')
    .addColumn('decky_name', t.text, (c) => c.primaryKey())
    .addColumn('host_uuid', t.text, (c) => c.notNull().references('swarm_hosts.uuid').onDelete('cascade'))
    .addColumn('services', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('decky_config', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('decky_ip', t.text)
    .addColumn('state', t.text, (c) => c.notNull().defaultTo('pending'))
    .addColumn('last_error', t.text)
    .addColumn('compose_hash', t.text)
    .addColumn('last_seen', t.text)
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
  await index(db, 'decky_shards', ['host_uuid']);
  await index(db, 'decky_shards', ['state']);
}
