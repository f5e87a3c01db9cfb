// Topology domain (MazeNET): nested deception networks of LANs and deckies, their status
// history, and the queue of live edits the mutator applies.
import type { Bool, Db, Json, JsonNull } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export const TOPOLOGY_STATUSES = ['pending', 'deploying', 'active', 'degraded', 'failed', 'tearing_down', 'torn_down'] as const;
export const MUTATION_OPS = ['add_lan', 'remove_lan', 'add_decky', 'attach_decky', 'detach_decky', 'remove_decky', 'update_decky', 'update_lan'] as const;
export const MUTATION_STATES = ['pending', 'applying', 'applied', 'failed'] as const;

export interface TopologiesTable {
  id: string;
  name: string;
  mode: string;
  target_host_uuid: string | null;
  config_snapshot: Json;
  status: string;
  status_changed_at: string;
  created_at: string;
  /** Optimistic lock: every child write may require the version it read, then bumps it. */
  version: number;
  needs_resync: Bool;
  email_personas: Json;
  language_default: string;
}

export interface LansTable {
  id: string;
  topology_id: string;
  name: string;
  docker_network_id: string | null;
  subnet: string;
  is_dmz: Bool;
  x: number | null;
  y: number | null;
}

export interface TopologyDeckiesTable {
  uuid: string;
  topology_id: string;
  name: string;
  services: Json;
  decky_config: Json;
  ip: string | null;
  state: string;
  last_error: string | null;
  compose_hash: string | null;
  last_seen: string | null;
  updated_at: string;
  x: number | null;
  y: number | null;
}

export interface TopologyEdgesTable {
  id: string;
  topology_id: string;
  decky_uuid: string;
  lan_id: string;
  is_bridge: Bool;
  forwards_l3: Bool;
}

export interface TopologyStatusEventsTable {
  id: string;
  topology_id: string;
  from_status: string | null;
  to_status: string;
  at: string;
  reason: string | null;
}

export interface TopologyMutationsTable {
  id: string;
  topology_id: string;
  op: string;
  payload: JsonNull;
  state: string;
  requested_at: string;
  applied_at: string | null;
  reason: string | null;
}

export interface TopologyTables {
  topologies: TopologiesTable;
  lans: LansTable;
  topology_deckies: TopologyDeckiesTable;
  topology_edges: TopologyEdgesTable;
  topology_status_events: TopologyStatusEventsTable;
  topology_mutations: TopologyMutationsTable;
}

export const TABLES = ['topologies', 'lans', 'topology_deckies', 'topology_edges', 'topology_status_events', 'topology_mutations'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  const s = db.kysely.schema;
  await s
    .createTable('topologies')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('name', t.text, (c) => c.notNull().unique())
    .addColumn('mode', t.text, (c) => c.notNull().defaultTo('unihost'))
    .addColumn('target_host_uuid', t.text, (c) => c.references('swarm_hosts.uuid').onDelete('set null'))
    .addColumn('config_snapshot', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('status', t.text, (c) => c.notNull().defaultTo('pending'))
    .addColumn('status_changed_at', t.text, (c) => c.notNull())
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('version', t.int, (c) => c.notNull().defaultTo(1))
    .addColumn('needs_resync', t.bool, (c) => c.notNull().defaultTo(false))
    .addColumn('email_personas', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('language_default', t.text, (c) => c.notNull().defaultTo('en'))
    .execute();
  for (const column of ['status', 'created_at', 'target_host_uuid']) await index(db, 'topologies', [column]);

  await s
    .createTable('lans')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('topology_id', t.text, (c) => c.notNull().references('topologies.id').onDelete('cascade'))
    .addColumn('name', t.text, (c) => c.notNull())
    .addColumn('docker_network_id', t.text)
    .addColumn('subnet', t.text, (c) => c.notNull())
    .addColumn('is_dmz', t.bool, (c) => c.notNull().defaultTo(false))
    .addColumn('x', t.real)
    .addColumn('y', t.real)
    .execute();
  await index(db, 'lans', ['topology_id', 'name'], true);

  await s
    .createTable('topology_deckies')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('topology_id', t.text, (c) => c.notNull().references('topologies.id').onDelete('cascade'))
    .addColumn('name', t.text, (c) => c.notNull())
    .addColumn('services', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('decky_config', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('ip', t.text)
    .addColumn('state', t.text, (c) => c.notNull().defaultTo('pending'))
    .addColumn('last_error', t.text)
    .addColumn('compose_hash', t.text)
    .addColumn('last_seen', t.text)
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addColumn('x', t.real)
    .addColumn('y', t.real)
    .execute();
  await index(db, 'topology_deckies', ['topology_id', 'name'], true);
  await index(db, 'topology_deckies', ['state']);

  await s
    .createTable('topology_edges')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('topology_id', t.text, (c) => c.notNull().references('topologies.id').onDelete('cascade'))
    .addColumn('decky_uuid', t.text, (c) => c.notNull().references('topology_deckies.uuid').onDelete('cascade'))
    .addColumn('lan_id', t.text, (c) => c.notNull().references('lans.id').onDelete('cascade'))
    .addColumn('is_bridge', t.bool, (c) => c.notNull().defaultTo(false))
    .addColumn('forwards_l3', t.bool, (c) => c.notNull().defaultTo(false))
    .execute();
  await index(db, 'topology_edges', ['decky_uuid', 'lan_id'], true);
  await index(db, 'topology_edges', ['topology_id']);
  await index(db, 'topology_edges', ['lan_id']);

  await s
    .createTable('topology_status_events')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('topology_id', t.text, (c) => c.notNull().references('topologies.id').onDelete('cascade'))
    .addColumn('from_status', t.text)
    .addColumn('to_status', t.text, (c) => c.notNull())
    .addColumn('at', t.text, (c) => c.notNull())
    .addColumn('reason', t.text)
    .execute();
  await index(db, 'topology_status_events', ['topology_id', 'at']);

  await s
    .createTable('topology_mutations')
    .addColumn('id', t.text, (c) => c.primaryKey())
    .addColumn('topology_id', t.text, (c) => c.notNull().references('topologies.id').onDelete('cascade'))
    .addColumn('op', t.text, (c) => c.notNull())
    .addColumn('payload', t.json)
    .addColumn('state', t.text, (c) => c.notNull().defaultTo('pending'))
    .addColumn('requested_at', t.text, (c) => c.notNull())
    .addColumn('applied_at', t.text)
    .addColumn('reason', t.text)
    .execute();
  await index(db, 'topology_mutations', ['state', 'topology_id', 'requested_at']);
  await index(db, 'topology_mutations', ['op']);
}
