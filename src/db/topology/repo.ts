// Topology repository (MazeNET): topologies, their LANs, deckies and edges, the status history,
// and the live-edit queue the mutator drains.
//
// Every child write runs in one transaction with a version bump on the topology row. A caller
// that read version N passes expected_version: N and the write fails with VersionConflictError if
// someone else changed the topology meanwhile. CRUD paths pass enforce_pending, because only a
// topology that is not deployed yet may be edited directly (live ones go through mutations).
import { isIP } from 'node:net';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import { MUTATION_OPS, TOPOLOGY_STATUSES, type TopologyTables } from './schema.ts';
import { DECKY_STATES, type DeckyState } from '../decky-state.ts';
import { inTransaction, page, pageArgs } from '../query.ts';
import { ConflictError, DataError, bool, fromBool, fromJson, int, json, name, nowIso, num, oneOf, optIp, optName, optReal, optText, optTime, stringList, text } from '../values.ts';

export type TopologyStatus = (typeof TOPOLOGY_STATUSES)[number];
export type MutationOp = (typeof MUTATION_OPS)[number];

export class VersionConflictError extends ConflictError {
  readonly current: number;
  readonly expected: number;
  constructor(id: string, current: number, expected: number) {
    super(`topology ${id} is at version ${current}, not ${expected}: it changed since you read it; reload and retry`);
    this.name = 'VersionConflictError';
    this.current = current;
    this.expected = expected;
  }
}

export class TopologyNotEditableError extends ConflictError {
  constructor(id: string, status: string) {
    super(`topology ${id} is ${status}; only a pending topology can be edited directly (queue a mutation instead)`);
    this.name = 'TopologyNotEditableError';
  }
}

export interface WriteGuard {
  /** Fail unless the topology is still at this version. */
  expected_version?: number;
  /** Fail unless the topology is pending (direct CRUD edits). */
  enforce_pending?: boolean;
}

export interface TopologyRow {
  id: string;
  name: string;
  mode: string;
  target_host_uuid: string | null;
  config_snapshot: Record<string, unknown>;
  status: TopologyStatus;
  status_changed_at: string;
  created_at: string;
  version: number;
  needs_resync: boolean;
  email_personas: unknown[];
  language_default: string;
}

export interface LanRow {
  id: string;
  topology_id: string;
  name: string;
  docker_network_id: string | null;
  subnet: string;
  is_dmz: boolean;
  x: number | null;
  y: number | null;
}

export interface TopologyDeckyRow {
  uuid: string;
  topology_id: string;
  name: string;
  services: string[];
  decky_config: Record<string, unknown>;
  ip: string | null;
  state: DeckyState;
  last_error: string | null;
  compose_hash: string | null;
  last_seen: string | null;
  updated_at: string;
  x: number | null;
  y: number | null;
}

export interface EdgeRow {
  id: string;
  topology_id: string;
  decky_uuid: string;
  lan_id: string;
  is_bridge: boolean;
  forwards_l3: boolean;
}

const q = (db: Db) => db.kysely as Kysely<TopologyTables>;

const decodeTopology = (r: Record<string, unknown>): TopologyRow => ({
  ...(r as unknown as TopologyRow),
  version: num(r.version),
  needs_resync: fromBool(r.needs_resync),
  config_snapshot: fromJson(r.config_snapshot, {}),
  email_personas: fromJson(r.email_personas, []),
});
const decodeLan = (r: Record<string, unknown>): LanRow => ({ ...(r as unknown as LanRow), is_dmz: fromBool(r.is_dmz) });
const decodeDecky = (r: Record<string, unknown>): TopologyDeckyRow => ({ ...(r as unknown as TopologyDeckyRow), services: fromJson(r.services, []), decky_config: fromJson(r.decky_config, {}) });
const decodeEdge = (r: Record<string, unknown>): EdgeRow => ({ ...(r as unknown as EdgeRow), is_bridge: fromBool(r.is_bridge), forwards_l3: fromBool(r.forwards_l3) });

function cidr(field: string, value: unknown): string {
  const s = text(field, value, 'name');
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  const version = m ? isIP(m[1]) : 0;
  if (!m || version === 0 || Number(m[2]) > (version === 4 ? 32 : 128)) throw new DataError(field, `${JSON.stringify(s)} is not a CIDR subnet (e.g. 10.20.0.0/24)`);
  return s;
}

// ---- topologies --------------------------------------------------------------------------------

export interface TopologyInput {
  name: string;
  mode?: 'unihost' | 'agent';
  target_host_uuid?: string | null;
  config_snapshot?: Record<string, unknown>;
  email_personas?: unknown[];
  language_default?: string;
}

export async function createTopology(db: Db, t: TopologyInput): Promise<TopologyRow> {
  const now = nowIso();
  const row = {
    id: uuidv7(),
    name: name('name', t.name),
    mode: oneOf('mode', t.mode ?? 'unihost', ['unihost', 'agent'] as const),
    target_host_uuid: optName('target_host_uuid', t.target_host_uuid),
    config_snapshot: json('config_snapshot', t.config_snapshot ?? { blank: true }, 'bigJson'),
    status: 'pending' as TopologyStatus,
    status_changed_at: now,
    created_at: now,
    version: 1,
    needs_resync: false,
    email_personas: json('email_personas', t.email_personas ?? []),
    language_default: name('language_default', t.language_default ?? 'en'),
  };
  if (row.mode === 'agent' && !row.target_host_uuid) throw new DataError('target_host_uuid', 'an agent-mode topology needs the swarm host to run on');
  await inTransaction(db, async (tx) => {
    await q(tx).insertInto('topologies').values(row).execute();
    await q(tx).insertInto('topology_status_events').values({ id: uuidv7(), topology_id: row.id, from_status: null, to_status: 'pending', at: now, reason: 'created' }).execute();
  });
  return decodeTopology(row as Record<string, unknown>);
}

export async function getTopology(db: Db, id: string): Promise<TopologyRow | undefined> {
  const row = await q(db).selectFrom('topologies').selectAll().where('id', '=', name('id', id)).executeTakeFirst();
  return row ? decodeTopology(row as Record<string, unknown>) : undefined;
}

/** A topology with its LANs, deckies and edges (what the deployer and the mutator need). */
export async function getTopologyDetail(db: Db, id: string): Promise<(TopologyRow & { lans: LanRow[]; deckies: TopologyDeckyRow[]; edges: EdgeRow[] }) | undefined> {
  const topology = await getTopology(db, id);
  if (!topology) return undefined;
  const [lans, deckies, edges] = await Promise.all([listLans(db, id), listTopologyDeckies(db, id), listEdges(db, id)]);
  return { ...topology, lans, deckies, edges };
}

export async function listTopologies(db: Db, request: PageRequest & { status?: TopologyStatus } = {}): Promise<Page<TopologyRow>> {
  const { limit, offset } = pageArgs(request, { maxLimit: 500 });
  let query = q(db).selectFrom('topologies');
  if (request.status) query = query.where('status', '=', oneOf('status', request.status, TOPOLOGY_STATUSES));
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decodeTopology(r as Record<string, unknown>)));
}

/**
 * Changes a topology's status and appends the status event in the same transaction. Whether the
 * transition is legal is the caller's decision (the deploy state machine).
 */
export async function updateTopologyStatus(db: Db, id: string, to: TopologyStatus, reason: string | null = null): Promise<TopologyRow> {
  const target = oneOf('status', to, TOPOLOGY_STATUSES);
  const topologyId = name('id', id);
  return inTransaction(db, async (tx) => {
    const current = await q(tx).selectFrom('topologies').select('status').where('id', '=', topologyId).executeTakeFirst();
    if (!current) throw new DataError('id', `no topology ${topologyId}`);
    const now = nowIso();
    await q(tx).updateTable('topologies').set({ status: target, status_changed_at: now }).where('id', '=', topologyId).execute();
    await q(tx).insertInto('topology_status_events').values({ id: uuidv7(), topology_id: topologyId, from_status: current.status, to_status: target, at: now, reason: optText('reason', reason, 'short') }).execute();
    return (await getTopology(tx, topologyId))!;
  });
}

/** Deletes a topology with everything in it (foreign keys cascade). */
export async function deleteTopology(db: Db, id: string): Promise<boolean> {
  return (await q(db).deleteFrom('topologies').where('id', '=', name('id', id)).executeTakeFirst()).numDeletedRows > 0n;
}

export async function setTopologyResync(db: Db, id: string, needsResync: boolean): Promise<void> {
  await q(db).updateTable('topologies').set({ needs_resync: bool('needs_resync', needsResync) }).where('id', '=', name('id', id)).execute();
}

export async function setTopologyEmailPersonas(db: Db, id: string, personas: unknown[]): Promise<void> {
  await q(db).updateTable('topologies').set({ email_personas: json('email_personas', personas) }).where('id', '=', name('id', id)).execute();
}

export async function listTopologiesNeedingResync(db: Db): Promise<TopologyRow[]> {
  const rows = await q(db).selectFrom('topologies').selectAll().where('needs_resync', '=', true).where('status', 'in', ['active', 'degraded']).orderBy('created_at').execute();
  return rows.map((r) => decodeTopology(r as Record<string, unknown>));
}

/** Topologies that are deployed (active or degraded). */
export async function listLiveTopologyIds(db: Db): Promise<string[]> {
  return (await q(db).selectFrom('topologies').select('id').where('status', 'in', ['active', 'degraded']).orderBy('created_at').execute()).map((r) => r.id);
}

export async function listStatusEvents(db: Db, id: string, limit = 200): Promise<{ id: string; from_status: string | null; to_status: string; at: string; reason: string | null }[]> {
  return q(db)
    .selectFrom('topology_status_events')
    .select(['id', 'from_status', 'to_status', 'at', 'reason'])
    .where('topology_id', '=', name('id', id))
    .orderBy('at', 'desc')
    .orderBy('id', 'desc')
    .limit(int('limit', limit, 1, 10_000))
    .execute();
}

/** Checks the guard and bumps the topology's version; must run inside the write's transaction. */
async function guard(tx: Db, topologyId: string, g: WriteGuard = {}): Promise<number> {
  const row = await q(tx).selectFrom('topologies').select(['version', 'status']).where('id', '=', topologyId).executeTakeFirst();
  if (!row) throw new DataError('topology_id', `no topology ${topologyId}`);
  if (g.enforce_pending && row.status !== 'pending') throw new TopologyNotEditableError(topologyId, row.status);
  const current = num(row.version);
  if (g.expected_version !== undefined && int('expected_version', g.expected_version, 1) !== current) throw new VersionConflictError(topologyId, current, g.expected_version);
  const result = await q(tx).updateTable('topologies').set({ version: current + 1 }).where('id', '=', topologyId).where('version', '=', current).executeTakeFirst();
  // under the write lock nobody else can have moved it; checked anyway for PostgreSQL READ COMMITTED
  if (result.numUpdatedRows === 0n) throw new VersionConflictError(topologyId, current + 1, current);
  return current + 1;
}

// ---- LANs --------------------------------------------------------------------------------------

export interface LanInput {
  name: string;
  subnet: string;
  is_dmz?: boolean;
  docker_network_id?: string | null;
  x?: number | null;
  y?: number | null;
}

export async function addLan(db: Db, topologyId: string, lan: LanInput, g?: WriteGuard): Promise<LanRow> {
  const row = {
    id: uuidv7(),
    topology_id: name('topology_id', topologyId),
    name: name('name', lan.name),
    docker_network_id: optText('docker_network_id', lan.docker_network_id, 'hash'),
    subnet: cidr('subnet', lan.subnet),
    is_dmz: lan.is_dmz === undefined ? false : bool('is_dmz', lan.is_dmz),
    x: optReal('x', lan.x),
    y: optReal('y', lan.y),
  };
  await inTransaction(db, async (tx) => {
    await guard(tx, row.topology_id, g);
    await q(tx).insertInto('lans').values(row).execute();
  });
  return decodeLan(row as Record<string, unknown>);
}

export async function updateLan(db: Db, topologyId: string, lanId: string, lan: Partial<LanInput>, g?: WriteGuard): Promise<void> {
  const set: Record<string, unknown> = {};
  if (lan.name !== undefined) set.name = name('name', lan.name);
  if (lan.subnet !== undefined) set.subnet = cidr('subnet', lan.subnet);
  if (lan.is_dmz !== undefined) set.is_dmz = bool('is_dmz', lan.is_dmz);
  if (lan.docker_network_id !== undefined) set.docker_network_id = optText('docker_network_id', lan.docker_network_id, 'hash');
  if (lan.x !== undefined) set.x = optReal('x', lan.x);
  if (lan.y !== undefined) set.y = optReal('y', lan.y);
  await inTransaction(db, async (tx) => {
    await guard(tx, name('topology_id', topologyId), g);
    const result = await q(tx).updateTable('lans').set(set).where('id', '=', name('lan_id', lanId)).where('topology_id', '=', topologyId).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new DataError('lan_id', `no LAN ${lanId} in topology ${topologyId}`);
  });
}

/** Deletes a LAN; refused when a decky would be left with no LAN at all. */
export async function deleteLan(db: Db, topologyId: string, lanId: string, g?: WriteGuard): Promise<void> {
  const topology = name('topology_id', topologyId);
  const lan = name('lan_id', lanId);
  await inTransaction(db, async (tx) => {
    await guard(tx, topology, g);
    const stranded = await q(tx)
      .selectFrom('topology_edges as e')
      .innerJoin('topology_deckies as d', 'd.uuid', 'e.decky_uuid')
      .select('d.name')
      .where('e.lan_id', '=', lan)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('topology_edges as o').select('o.id').whereRef('o.decky_uuid', '=', 'e.decky_uuid').where('o.lan_id', '<>', lan))))
      .execute();
    if (stranded.length > 0) throw new ConflictError(`LAN ${lan} is the only LAN of ${stranded.map((s) => s.name).join(', ')}; move or remove those deckies first`);
    const result = await q(tx).deleteFrom('lans').where('id', '=', lan).where('topology_id', '=', topology).executeTakeFirst();
    if (result.numDeletedRows === 0n) throw new DataError('lan_id', `no LAN ${lan} in topology ${topology}`);
  });
}

export async function listLans(db: Db, topologyId: string): Promise<LanRow[]> {
  return (await q(db).selectFrom('lans').selectAll().where('topology_id', '=', name('topology_id', topologyId)).orderBy('name').execute()).map((r) => decodeLan(r as Record<string, unknown>));
}

// ---- deckies -----------------------------------------------------------------------------------

export interface TopologyDeckyInput {
  name: string;
  services: string[];
  decky_config: Record<string, unknown>;
  ip?: string | null;
  state?: DeckyState;
  last_error?: string | null;
  compose_hash?: string | null;
  last_seen?: string | Date | number | null;
  x?: number | null;
  y?: number | null;
}

function deckyColumns(d: Partial<TopologyDeckyInput>): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (d.name !== undefined) c.name = name('name', d.name);
  if (d.services !== undefined) c.services = json('services', stringList('services', d.services, 'name', 200));
  if (d.decky_config !== undefined) c.decky_config = json('decky_config', d.decky_config, 'bigJson');
  if (d.ip !== undefined) c.ip = optIp('ip', d.ip);
  if (d.state !== undefined) c.state = oneOf('state', d.state, DECKY_STATES);
  if (d.last_error !== undefined) c.last_error = optText('last_error', d.last_error, 'text');
  if (d.compose_hash !== undefined) c.compose_hash = optText('compose_hash', d.compose_hash, 'hash');
  if (d.last_seen !== undefined) c.last_seen = optTime('last_seen', d.last_seen);
  if (d.x !== undefined) c.x = optReal('x', d.x);
  if (d.y !== undefined) c.y = optReal('y', d.y);
  return c;
}

export async function addTopologyDecky(db: Db, topologyId: string, d: TopologyDeckyInput, g?: WriteGuard): Promise<TopologyDeckyRow> {
  const row = {
    uuid: uuidv7(),
    topology_id: name('topology_id', topologyId),
    services: '[]',
    decky_config: '{}',
    ip: null,
    state: 'pending',
    last_error: null,
    compose_hash: null,
    last_seen: null,
    x: null,
    y: null,
    ...deckyColumns(d),
    name: name('name', d.name),
    updated_at: nowIso(),
  };
  await inTransaction(db, async (tx) => {
    await guard(tx, row.topology_id, g);
    await q(tx).insertInto('topology_deckies').values(row as never).execute();
  });
  return decodeDecky(row as Record<string, unknown>);
}

export async function updateTopologyDecky(db: Db, topologyId: string, deckyUuid: string, d: Partial<TopologyDeckyInput>, g?: WriteGuard): Promise<void> {
  const set = { ...deckyColumns(d), updated_at: nowIso() };
  await inTransaction(db, async (tx) => {
    await guard(tx, name('topology_id', topologyId), g);
    const result = await q(tx).updateTable('topology_deckies').set(set).where('uuid', '=', name('decky_uuid', deckyUuid)).where('topology_id', '=', topologyId).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new DataError('decky_uuid', `no decky ${deckyUuid} in topology ${topologyId}`);
  });
}

/** Deletes a decky and (by cascade) its edges. */
export async function deleteTopologyDecky(db: Db, topologyId: string, deckyUuid: string, g?: WriteGuard): Promise<void> {
  await inTransaction(db, async (tx) => {
    await guard(tx, name('topology_id', topologyId), g);
    const result = await q(tx).deleteFrom('topology_deckies').where('uuid', '=', name('decky_uuid', deckyUuid)).where('topology_id', '=', topologyId).executeTakeFirst();
    if (result.numDeletedRows === 0n) throw new DataError('decky_uuid', `no decky ${deckyUuid} in topology ${topologyId}`);
  });
}

export async function listTopologyDeckies(db: Db, topologyId: string): Promise<TopologyDeckyRow[]> {
  return (await q(db).selectFrom('topology_deckies').selectAll().where('topology_id', '=', name('topology_id', topologyId)).orderBy('name').execute()).map((r) => decodeDecky(r as Record<string, unknown>));
}

// ---- edges -------------------------------------------------------------------------------------

export async function addEdge(db: Db, topologyId: string, e: { decky_uuid: string; lan_id: string; is_bridge?: boolean; forwards_l3?: boolean }, g?: WriteGuard): Promise<EdgeRow> {
  const row = {
    id: uuidv7(),
    topology_id: name('topology_id', topologyId),
    decky_uuid: name('decky_uuid', e.decky_uuid),
    lan_id: name('lan_id', e.lan_id),
    is_bridge: e.is_bridge === undefined ? false : bool('is_bridge', e.is_bridge),
    forwards_l3: e.forwards_l3 === undefined ? false : bool('forwards_l3', e.forwards_l3),
  };
  await inTransaction(db, async (tx) => {
    await guard(tx, row.topology_id, g);
    const [decky, lan] = await Promise.all([
      q(tx).selectFrom('topology_deckies').select('uuid').where('uuid', '=', row.decky_uuid).where('topology_id', '=', row.topology_id).executeTakeFirst(),
      q(tx).selectFrom('lans').select('id').where('id', '=', row.lan_id).where('topology_id', '=', row.topology_id).executeTakeFirst(),
    ]);
    if (!decky) throw new DataError('decky_uuid', `no decky ${row.decky_uuid} in topology ${row.topology_id}`);
    if (!lan) throw new DataError('lan_id', `no LAN ${row.lan_id} in topology ${row.topology_id}`);
    await q(tx).insertInto('topology_edges').values(row).execute();
  });
  return decodeEdge(row as Record<string, unknown>);
}

export async function deleteEdge(db: Db, topologyId: string, edgeId: string, g?: WriteGuard): Promise<void> {
  await inTransaction(db, async (tx) => {
    await guard(tx, name('topology_id', topologyId), g);
    const result = await q(tx).deleteFrom('topology_edges').where('id', '=', name('edge_id', edgeId)).where('topology_id', '=', topologyId).executeTakeFirst();
    if (result.numDeletedRows === 0n) throw new DataError('edge_id', `no edge ${edgeId} in topology ${topologyId}`);
  });
}

export async function listEdges(db: Db, topologyId: string): Promise<EdgeRow[]> {
  return (await q(db).selectFrom('topology_edges').selectAll().where('topology_id', '=', name('topology_id', topologyId)).orderBy('id').execute()).map((r) => decodeEdge(r as Record<string, unknown>));
}

// ---- mutation queue ----------------------------------------------------------------------------

export interface MutationRow {
  id: string;
  topology_id: string;
  op: MutationOp;
  payload: unknown;
  state: 'pending' | 'applying' | 'applied' | 'failed';
  requested_at: string;
  applied_at: string | null;
  reason: string | null;
}

const decodeMutation = (r: Record<string, unknown>): MutationRow => ({ ...(r as unknown as MutationRow), payload: fromJson(r.payload, null) });

export async function enqueueMutation(db: Db, topologyId: string, op: MutationOp, payload: unknown, g?: WriteGuard): Promise<MutationRow> {
  const row = {
    id: uuidv7(),
    topology_id: name('topology_id', topologyId),
    op: oneOf('op', op, MUTATION_OPS),
    payload: json('payload', payload ?? null),
    state: 'pending' as const,
    requested_at: nowIso(),
    applied_at: null,
    reason: null,
  };
  await inTransaction(db, async (tx) => {
    await guard(tx, row.topology_id, g);
    await q(tx).insertInto('topology_mutations').values(row).execute();
  });
  return decodeMutation(row as Record<string, unknown>);
}

/**
 * Claims the oldest pending mutation of a topology for applying, in one atomic UPDATE, so two
 * mutators never claim the same row. Nothing is claimed while another mutation of the topology is
 * still applying (mutations of one topology apply in order, one at a time).
 */
export async function claimNextMutation(db: Db, topologyId: string): Promise<MutationRow | undefined> {
  const id = name('topology_id', topologyId);
  const row = await q(db)
    .updateTable('topology_mutations')
    .set({ state: 'applying' })
    .where('state', '=', 'pending')
    .where('id', '=', (eb) =>
      eb.selectFrom('topology_mutations as n').select('n.id').where('n.topology_id', '=', id).where('n.state', '=', 'pending').orderBy('n.requested_at').orderBy('n.id').limit(1),
    )
    .where((eb) => eb.not(eb.exists(eb.selectFrom('topology_mutations as a').select('a.id').where('a.topology_id', '=', id).where('a.state', '=', 'applying'))))
    .returningAll()
    .executeTakeFirst();
  return row ? decodeMutation(row as Record<string, unknown>) : undefined;
}

async function finishMutation(db: Db, id: string, state: 'applied' | 'failed', reason: string | null): Promise<void> {
  const result = await q(db)
    .updateTable('topology_mutations')
    .set({ state, applied_at: nowIso(), reason: optText('reason', reason, 'text') })
    .where('id', '=', name('id', id))
    .where('state', '=', 'applying')
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw new ConflictError(`mutation ${id} is not being applied`);
}

export const markMutationApplied = (db: Db, id: string) => finishMutation(db, id, 'applied', null);
export const markMutationFailed = (db: Db, id: string, reason: string) => finishMutation(db, id, 'failed', reason);

export async function listMutations(db: Db, topologyId: string, limit = 200): Promise<MutationRow[]> {
  const rows = await q(db).selectFrom('topology_mutations').selectAll().where('topology_id', '=', name('topology_id', topologyId)).orderBy('requested_at', 'desc').orderBy('id', 'desc').limit(int('limit', limit, 1, 10_000)).execute();
  return rows.map((r) => decodeMutation(r as Record<string, unknown>));
}

/** Whether any live (active or degraded) topology has a pending mutation. */
export async function hasPendingMutation(db: Db): Promise<boolean> {
  const row = await q(db)
    .selectFrom('topology_mutations as m')
    .innerJoin('topologies as t', 't.id', 'm.topology_id')
    .select('m.id')
    .where('m.state', '=', 'pending')
    .where('t.status', 'in', ['active', 'degraded'])
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
