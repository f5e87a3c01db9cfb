// Swarm repository: enrolled worker hosts and decky placement (shards).
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db } from '../types.ts';
import type { SwarmTables } from './schema.ts';
import { DECKY_STATES } from '../decky-state.ts';
import { DataError, bool, fromBool, fromJson, int, json, name, nowIso, num, oneOf, optIp, optText, optTime, stringList, text } from '../values.ts';

export const HOST_STATUSES = ['enrolled', 'active', 'unreachable', 'decommissioned'] as const;

export interface SwarmHostInput {
  name: string;
  address: string;
  agent_port?: number;
  status?: (typeof HOST_STATUSES)[number];
  client_cert_fingerprint?: string | null;
  updater_cert_fingerprint?: string | null;
  cert_bundle_path?: string | null;
  notes?: string | null;
  use_ipvlan?: boolean;
}

export interface SwarmHostRow {
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
  use_ipvlan: boolean;
}

const q = (db: Db) => db.kysely as Kysely<SwarmTables>;
const decodeHost = (r: Record<string, unknown>): SwarmHostRow => ({ ...(r as unknown as SwarmHostRow), agent_port: num(r.agent_port), use_ipvlan: fromBool(r.use_ipvlan) });

function address(value: unknown): string {
  const s = text('address', value, 'short');
  if (!/^[A-Za-z0-9.:-]+$/.test(s)) throw new DataError('address', `${JSON.stringify(s)} is not a host name or IP address`);
  return s;
}

export async function createSwarmHost(db: Db, h: SwarmHostInput): Promise<SwarmHostRow> {
  const row = {
    uuid: uuidv7(),
    name: name('name', h.name),
    address: address(h.address),
    agent_port: int('agent_port', h.agent_port ?? 8765, 1, 65_535),
    status: oneOf('status', h.status ?? 'enrolled', HOST_STATUSES),
    last_heartbeat: null,
    client_cert_fingerprint: optText('client_cert_fingerprint', h.client_cert_fingerprint, 'hash'),
    updater_cert_fingerprint: optText('updater_cert_fingerprint', h.updater_cert_fingerprint, 'hash'),
    cert_bundle_path: optText('cert_bundle_path', h.cert_bundle_path, 'url'),
    enrolled_at: nowIso(),
    notes: optText('notes', h.notes, 'text'),
    use_ipvlan: h.use_ipvlan === undefined ? false : bool('use_ipvlan', h.use_ipvlan),
  };
  await q(db).insertInto('swarm_hosts').values(row).execute();
  return decodeHost(row as Record<string, unknown>);
}

async function hostWhere(db: Db, column: 'uuid' | 'name' | 'client_cert_fingerprint', value: string): Promise<SwarmHostRow | undefined> {
  const row = await q(db).selectFrom('swarm_hosts').selectAll().where(column, '=', value).executeTakeFirst();
  return row ? decodeHost(row as Record<string, unknown>) : undefined;
}

export const getSwarmHost = (db: Db, uuid: string) => hostWhere(db, 'uuid', name('uuid', uuid));
export const getSwarmHostByName = (db: Db, hostName: string) => hostWhere(db, 'name', name('name', hostName));
export const getSwarmHostByCertFingerprint = (db: Db, fingerprint: string) => hostWhere(db, 'client_cert_fingerprint', text('fingerprint', fingerprint, 'hash'));

export async function listSwarmHosts(db: Db, status?: (typeof HOST_STATUSES)[number]): Promise<SwarmHostRow[]> {
  let query = q(db).selectFrom('swarm_hosts').selectAll();
  if (status) query = query.where('status', '=', oneOf('status', status, HOST_STATUSES));
  return (await query.orderBy('name').execute()).map((r) => decodeHost(r as Record<string, unknown>));
}

export async function updateSwarmHost(db: Db, uuid: string, h: Partial<SwarmHostInput> & { last_heartbeat?: string | Date | number }): Promise<boolean> {
  const set: Record<string, unknown> = {};
  if (h.name !== undefined) set.name = name('name', h.name);
  if (h.address !== undefined) set.address = address(h.address);
  if (h.agent_port !== undefined) set.agent_port = int('agent_port', h.agent_port, 1, 65_535);
  if (h.status !== undefined) set.status = oneOf('status', h.status, HOST_STATUSES);
  if (h.client_cert_fingerprint !== undefined) set.client_cert_fingerprint = optText('client_cert_fingerprint', h.client_cert_fingerprint, 'hash');
  if (h.updater_cert_fingerprint !== undefined) set.updater_cert_fingerprint = optText('updater_cert_fingerprint', h.updater_cert_fingerprint, 'hash');
  if (h.cert_bundle_path !== undefined) set.cert_bundle_path = optText('cert_bundle_path', h.cert_bundle_path, 'url');
  if (h.notes !== undefined) set.notes = optText('notes', h.notes, 'text');
  if (h.use_ipvlan !== undefined) set.use_ipvlan = bool('use_ipvlan', h.use_ipvlan);
  if (h.last_heartbeat !== undefined) set.last_heartbeat = optTime('last_heartbeat', h.last_heartbeat);
  if (Object.keys(set).length === 0) return false;
  return (await q(db).updateTable('swarm_hosts').set(set).where('uuid', '=', name('uuid', uuid)).executeTakeFirst()).numUpdatedRows > 0n;
}

/** Deletes a host and (by cascade) its shards. */
export async function deleteSwarmHost(db: Db, uuid: string): Promise<boolean> {
  return (await q(db).deleteFrom('swarm_hosts').where('uuid', '=', name('uuid', uuid)).executeTakeFirst()).numDeletedRows > 0n;
}

// ---- shards ------------------------------------------------------------------------------------

export interface ShardInput {
  decky_name: string;
  host_uuid: string;
  services: string[];
  decky_config: Record<string, unknown>;
  decky_ip?: string | null;
  state?: (typeof DECKY_STATES)[number];
  last_error?: string | null;
  compose_hash?: string | null;
  last_seen?: string | Date | number | null;
}

export interface ShardRow extends Required<Omit<ShardInput, 'last_seen'>> {
  last_seen: string | null;
  updated_at: string;
}

export async function upsertDeckyShard(db: Db, s: ShardInput): Promise<void> {
  const values = {
    decky_name: name('decky_name', s.decky_name),
    host_uuid: name('host_uuid', s.host_uuid),
    services: json('services', stringList('services', s.services, 'name', 200)),
    decky_config: json('decky_config', s.decky_config ?? {}, 'bigJson'),
    decky_ip: optIp('decky_ip', s.decky_ip),
    state: oneOf('state', s.state ?? 'pending', DECKY_STATES),
    last_error: optText('last_error', s.last_error, 'text'),
    compose_hash: optText('compose_hash', s.compose_hash, 'hash'),
    last_seen: optTime('last_seen', s.last_seen),
    updated_at: nowIso(),
  };
  const { decky_name: _n, ...update } = values;
  await q(db).insertInto('decky_shards').values(values).onConflict((oc) => oc.column('decky_name').doUpdateSet(update)).execute();
}

export async function listDeckyShards(db: Db, hostUuid?: string): Promise<ShardRow[]> {
  let query = q(db).selectFrom('decky_shards').selectAll();
  if (hostUuid) query = query.where('host_uuid', '=', name('host_uuid', hostUuid));
  const rows = await query.orderBy('decky_name').execute();
  return rows.map((r) => ({ ...(r as unknown as ShardRow), services: fromJson(r.services, []), decky_config: fromJson(r.decky_config, {}) }));
}

export async function deleteDeckyShard(db: Db, deckyName: string): Promise<boolean> {
  return (await q(db).deleteFrom('decky_shards').where('decky_name', '=', name('decky_name', deckyName)).executeTakeFirst()).numDeletedRows > 0n;
}
