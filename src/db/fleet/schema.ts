// Fleet domain: the deckies deployed on each host (outside topologies), as the deploy engine and
// the reconciler see them.
import type { Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

/** host_uuid of deckies on this machine. */
export const LOCAL_HOST = 'local';

export interface FleetDeckiesTable {
  host_uuid: string;
  name: string;
  services: Json;
  decky_config: Json;
  decky_ip: string | null;
  state: string;
  last_error: string | null;
  compose_hash: string | null;
  last_seen: string | null;
  updated_at: string;
}

export interface FleetTables {
  fleet_deckies: FleetDeckiesTable;
}

export const TABLES = ['fleet_deckies'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('fleet_deckies')
    .addColumn('host_uuid', t.text, (c) => c.notNull().defaultTo(LOCAL_HOST))
    .addColumn('name', t.text, (c) => c.notNull())
    .addColumn('services', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('decky_config', t.json, (c) => c.notNull().defaultTo('{}'))
    .addColumn('decky_ip', t.text)
    .addColumn('state', t.text, (c) => c.notNull().defaultTo('pending'))
    .addColumn('last_error', t.text)
    .addColumn('compose_hash', t.text)
    .addColumn('last_seen', t.text)
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .addPrimaryKeyConstraint('fleet_deckies_pkey', ['host_uuid', 'name'])
    .execute();
  await index(db, 'fleet_deckies', ['state']);
}
