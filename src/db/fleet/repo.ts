// Fleet repository: the deckies deployed on each host outside topologies (deploy engine,
// reconciler), and the union of every running decky the orchestrator animates.
import type { Kysely } from 'kysely';
import type { SwarmTables } from '../swarm/schema.ts';
import type { TopologyTables } from '../topology/schema.ts';
import type { Db } from '../types.ts';
import { LOCAL_HOST, type FleetTables } from './schema.ts';
import { DECKY_STATES, type DeckyState } from '../decky-state.ts';
import { fromJson, json, name, nowIso, oneOf, optIp, optText, optTime, stringList } from '../values.ts';

export type { DeckyState };

export interface FleetDeckyInput {
  host_uuid?: string;
  name: string;
  services: string[];
  decky_config: Record<string, unknown>;
  decky_ip?: string | null;
  state?: DeckyState;
  last_error?: string | null;
  compose_hash?: string | null;
  last_seen?: string | Date | number | null;
}

export interface FleetDeckyRow {
  host_uuid: string;
  name: string;
  services: string[];
  decky_config: Record<string, unknown>;
  decky_ip: string | null;
  state: DeckyState;
  last_error: string | null;
  compose_hash: string | null;
  last_seen: string | null;
  updated_at: string;
}

const q = (db: Db) => db.kysely as Kysely<FleetTables & TopologyTables & SwarmTables>;

function decode(r: Record<string, unknown>): FleetDeckyRow {
  return { ...(r as unknown as FleetDeckyRow), services: fromJson(r.services, []), decky_config: fromJson(r.decky_config, {}) };
}

export async function upsertFleetDecky(db: Db, d: FleetDeckyInput): Promise<void> {
  const values = {
    host_uuid: d.host_uuid === undefined ? LOCAL_HOST : name('host_uuid', d.host_uuid),
    name: name('name', d.name),
    services: json('services', stringList('services', d.services, 'name', 200)),
    decky_config: json('decky_config', d.decky_config ?? {}, 'bigJson'),
    decky_ip: optIp('decky_ip', d.decky_ip),
    state: oneOf('state', d.state ?? 'pending', DECKY_STATES),
    last_error: optText('last_error', d.last_error, 'text'),
    compose_hash: optText('compose_hash', d.compose_hash, 'hash'),
    last_seen: optTime('last_seen', d.last_seen),
    updated_at: nowIso(),
  };
  const { host_uuid: _h, name: _n, ...update } = values;
  await q(db).insertInto('fleet_deckies').values(values).onConflict((oc) => oc.columns(['host_uuid', 'name']).doUpdateSet(update)).execute();
}

export async function deleteFleetDecky(db: Db, deckyName: string, hostUuid = LOCAL_HOST): Promise<boolean> {
  const result = await q(db).deleteFrom('fleet_deckies').where('host_uuid', '=', name('host_uuid', hostUuid)).where('name', '=', name('name', deckyName)).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listFleetDeckies(db: Db, options: { host_uuid?: string; state?: DeckyState } = {}): Promise<FleetDeckyRow[]> {
  let query = q(db).selectFrom('fleet_deckies').selectAll();
  if (options.host_uuid) query = query.where('host_uuid', '=', name('host_uuid', options.host_uuid));
  if (options.state) query = query.where('state', '=', oneOf('state', options.state, DECKY_STATES));
  return (await query.orderBy('host_uuid').orderBy('name').execute()).map((r) => decode(r as Record<string, unknown>));
}

export async function getFleetDeckyByName(db: Db, deckyName: string, hostUuid?: string): Promise<FleetDeckyRow | undefined> {
  let query = q(db).selectFrom('fleet_deckies').selectAll().where('name', '=', name('name', deckyName));
  if (hostUuid) query = query.where('host_uuid', '=', name('host_uuid', hostUuid));
  const row = await query.orderBy('host_uuid').executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

export async function updateFleetDeckyState(db: Db, deckyName: string, state: DeckyState, options: { host_uuid?: string; last_error?: string | null; last_seen?: string | Date | number } = {}): Promise<boolean> {
  const result = await q(db)
    .updateTable('fleet_deckies')
    .set({
      state: oneOf('state', state, DECKY_STATES),
      last_error: optText('last_error', options.last_error, 'text'),
      ...(options.last_seen !== undefined ? { last_seen: optTime('last_seen', options.last_seen) } : {}),
      updated_at: nowIso(),
    })
    .where('host_uuid', '=', name('host_uuid', options.host_uuid ?? LOCAL_HOST))
    .where('name', '=', name('name', deckyName))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export interface RunningDecky {
  /** topology decky uuid, `host_uuid:name` for fleet deckies and shards. */
  uuid: string;
  name: string;
  ip: string | null;
  services: string[];
  source: 'topology' | 'fleet' | 'shard';
  topology_id?: string;
}

/** Every running decky, wherever it is defined (topologies, the fleet, swarm shards). */
export async function listRunningDeckies(db: Db): Promise<RunningDecky[]> {
  const [topo, fleet, shards] = await Promise.all([
    q(db).selectFrom('topology_deckies').select(['uuid', 'name', 'ip', 'services', 'topology_id']).where('state', '=', 'running').execute(),
    q(db).selectFrom('fleet_deckies').select(['host_uuid', 'name', 'decky_ip', 'services']).where('state', '=', 'running').execute(),
    q(db).selectFrom('decky_shards').select(['host_uuid', 'decky_name', 'decky_ip', 'services']).where('state', '=', 'running').execute(),
  ]);
  return [
    ...topo.map((d) => ({ uuid: d.uuid, name: d.name, ip: d.ip, services: fromJson<string[]>(d.services, []), source: 'topology' as const, topology_id: d.topology_id })),
    ...fleet.map((d) => ({ uuid: `${d.host_uuid}:${d.name}`, name: d.name, ip: d.decky_ip, services: fromJson<string[]>(d.services, []), source: 'fleet' as const })),
    ...shards.map((d) => ({ uuid: `${d.host_uuid}:${d.decky_name}`, name: d.decky_name, ip: d.decky_ip, services: fromJson<string[]>(d.services, []), source: 'shard' as const })),
  ];
}
