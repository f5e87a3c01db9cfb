// Attackers repository: the per-IP profile and behaviour record the profiler maintains, and the
// look-ups every other worker makes by IP.
import { sql, type Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db, Page, PageRequest } from '../types.ts';
import type { AttackerBehaviorTable, AttackersTables } from './schema.ts';
import { containsText, inTransaction, jsonListHas, page, pageArgs } from '../query.ts';
import {
  DataError,
  bool,
  fromBool,
  fromJson,
  int,
  ip,
  json,
  name,
  nowIso,
  num,
  oneOf,
  optInt,
  optName,
  optReal,
  optText,
  stringList,
  text,
  time,
} from '../values.ts';

export interface AttackerUpsert {
  ip: string;
  first_seen: string | Date | number;
  last_seen: string | Date | number;
  identity_id?: string | null;
  event_count?: number;
  service_count?: number;
  decky_count?: number;
  bounty_count?: number;
  credential_count?: number;
  services?: string[];
  deckies?: string[];
  fingerprints?: unknown[];
  commands?: unknown[];
  traversal_path?: string | null;
  is_traversal?: boolean;
  country_code?: string | null;
  country_source?: string | null;
  asn?: number | null;
  as_name?: string | null;
  bgp_prefix?: string | null;
  asn_source?: string | null;
  rpki_status?: 'valid' | 'invalid' | 'not-found' | 'unknown' | null;
  rpki_source?: string | null;
  ptr_record?: string | null;
}

export interface AttackerRow {
  uuid: string;
  ip: string;
  identity_id: string | null;
  first_seen: string;
  last_seen: string;
  event_count: number;
  service_count: number;
  decky_count: number;
  bounty_count: number;
  credential_count: number;
  services: string[];
  deckies: string[];
  fingerprints: unknown[];
  commands: AttackerCommand[];
  traversal_path: string | null;
  is_traversal: boolean;
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

export interface AttackerCommand {
  service?: string;
  decky?: string;
  command?: string;
  timestamp?: string;
  [key: string]: unknown;
}

const q = (db: Db) => db.kysely as Kysely<AttackersTables>;
const RPKI = ['valid', 'invalid', 'not-found', 'unknown'] as const;

/** Checks an upsert and returns the columns it sets (undefined members are left alone). */
function attackerColumns(d: AttackerUpsert): Record<string, unknown> {
  if (d === null || typeof d !== 'object') throw new DataError('attacker', 'expected an object');
  const c: Record<string, unknown> = {
    ip: ip('ip', d.ip),
    first_seen: time('first_seen', d.first_seen),
    last_seen: time('last_seen', d.last_seen),
  };
  const set = (key: keyof AttackerUpsert, check: (field: string, v: unknown) => unknown) => {
    if (d[key] !== undefined) c[key] = check(key, d[key]);
  };
  const count = (f: string, v: unknown) => int(f, v, 0);
  set('identity_id', (f, v) => optName(f, v));
  for (const k of ['event_count', 'service_count', 'decky_count', 'bounty_count', 'credential_count'] as const) set(k, count);
  set('services', (f, v) => json(f, stringList(f, v, 'name', 1000)));
  set('deckies', (f, v) => json(f, stringList(f, v, 'name', 10_000)));
  set('fingerprints', (f, v) => json(f, checkList(f, v), 'bigJson'));
  set('commands', (f, v) => json(f, checkList(f, v), 'bigJson'));
  set('traversal_path', (f, v) => optText(f, v, 'text'));
  set('is_traversal', bool);
  set('country_code', (f, v) => {
    const s = optText(f, v, 'name');
    if (s !== null && !/^[A-Z]{2}$/.test(s)) throw new DataError(f, `must be a two-letter upper-case country code, got ${JSON.stringify(s)}`);
    return s;
  });
  set('asn', (f, v) => optInt(f, v, 0, 4_294_967_295));
  for (const k of ['country_source', 'as_name', 'bgp_prefix', 'asn_source', 'rpki_source', 'ptr_record'] as const) set(k, (f, v) => optText(f, v, 'short'));
  set('rpki_status', (f, v) => (v === null ? null : oneOf(f, v, RPKI)));
  return c;
}

function checkList(field: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new DataError(field, 'expected a list');
  return value;
}

/**
 * Creates or updates the profile of one IP. Columns the caller leaves undefined keep their stored
 * values; first_seen only moves earlier and last_seen only later, so an update computed from a
 * partial window never loses history.
 */
export async function upsertAttacker(db: Db, data: AttackerUpsert): Promise<{ uuid: string; inserted: boolean }> {
  const columns = attackerColumns(data);
  const now = nowIso();
  const uuid = uuidv7();
  const update: Record<string, unknown> = { updated_at: now };
  for (const [k, v] of Object.entries(columns)) if (k !== 'ip' && k !== 'first_seen' && k !== 'last_seen') update[k] = v;
  const row = await q(db)
    .insertInto('attackers')
    .values({ uuid, updated_at: now, ...columns } as never)
    .onConflict((oc) =>
      oc.column('ip').doUpdateSet((eb) => ({
        ...(update as object),
        first_seen: sql<string>`case when ${eb.ref('excluded.first_seen')} < ${eb.ref('attackers.first_seen')} then ${eb.ref('excluded.first_seen')} else ${eb.ref('attackers.first_seen')} end`,
        last_seen: sql<string>`case when ${eb.ref('excluded.last_seen')} > ${eb.ref('attackers.last_seen')} then ${eb.ref('excluded.last_seen')} else ${eb.ref('attackers.last_seen')} end`,
      })),
    )
    .returning('uuid')
    .executeTakeFirstOrThrow();
  return { uuid: row.uuid, inserted: row.uuid === uuid };
}

function decodeAttacker(r: Record<string, unknown>): AttackerRow {
  return {
    ...(r as unknown as AttackerRow),
    event_count: num(r.event_count),
    service_count: num(r.service_count),
    decky_count: num(r.decky_count),
    bounty_count: num(r.bounty_count),
    credential_count: num(r.credential_count),
    rotation_count: num(r.rotation_count),
    ipv6_leak_count: num(r.ipv6_leak_count),
    asn: r.asn === null || r.asn === undefined ? null : num(r.asn),
    services: fromJson<string[]>(r.services, []),
    deckies: fromJson<string[]>(r.deckies, []),
    fingerprints: fromJson<unknown[]>(r.fingerprints, []),
    commands: fromJson<AttackerCommand[]>(r.commands, []),
    is_traversal: fromBool(r.is_traversal),
  };
}

export async function getAttacker(db: Db, uuid: string): Promise<AttackerRow | undefined> {
  const row = await q(db).selectFrom('attackers').selectAll().where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
  return row ? decodeAttacker(row as Record<string, unknown>) : undefined;
}

export async function getAttackerByIp(db: Db, address: string): Promise<AttackerRow | undefined> {
  const row = await q(db).selectFrom('attackers').selectAll().where('ip', '=', ip('ip', address)).executeTakeFirst();
  return row ? decodeAttacker(row as Record<string, unknown>) : undefined;
}

export async function attackerUuidByIp(db: Db, address: string): Promise<string | undefined> {
  const row = await q(db).selectFrom('attackers').select('uuid').where('ip', '=', ip('ip', address)).executeTakeFirst();
  return row?.uuid;
}

/** uuid per IP for many IPs at once (the ingester resolves a whole batch in one query). */
export async function attackerUuidsByIps(db: Db, addresses: readonly string[]): Promise<Map<string, string>> {
  const ips = [...new Set(addresses.map((a, i) => ip(`ips[${i}]`, a)))];
  const out = new Map<string, string>();
  for (let i = 0; i < ips.length; i += 500) {
    const rows = await q(db).selectFrom('attackers').select(['ip', 'uuid']).where('ip', 'in', ips.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.ip, r.uuid);
  }
  return out;
}

/** Full profiles for many IPs at once, keyed by canonical IP (the profiler loads a page's attackers in one go). */
export async function getAttackersByIps(db: Db, addresses: readonly string[]): Promise<Map<string, AttackerRow>> {
  const ips = [...new Set(addresses.map((a, i) => ip(`ips[${i}]`, a)))];
  const out = new Map<string, AttackerRow>();
  for (let i = 0; i < ips.length; i += 500) {
    const rows = await q(db).selectFrom('attackers').selectAll().where('ip', 'in', ips.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.ip, decodeAttacker(r as Record<string, unknown>));
  }
  return out;
}

export type AttackerSort = 'recent' | 'active' | 'traversals';

export interface AttackerListRequest extends PageRequest {
  /** Substring of the IP, reverse DNS name, AS name or country code. */
  search?: string | null;
  sort_by?: AttackerSort;
  /** Only attackers that touched this service. */
  service?: string | null;
}

export async function listAttackers(db: Db, request: AttackerListRequest = {}): Promise<Page<AttackerRow>> {
  const { limit, offset } = pageArgs(request);
  const sort = oneOf('sort_by', request.sort_by ?? 'recent', ['recent', 'active', 'traversals'] as const);
  const search = request.search ? text('search', request.search, 'short') : null;
  const service = request.service ? name('service', request.service) : null;
  let query = q(db).selectFrom('attackers');
  if (search) query = query.where((eb) => eb.or(['ip', 'ptr_record', 'as_name', 'country_code'].map((c) => containsText(db, sql.ref(c), search))));
  if (service) query = query.where(jsonListHas(db, 'services', service));
  let rows = query.selectAll();
  if (sort === 'active') rows = rows.orderBy('event_count', 'desc');
  if (sort === 'traversals') rows = rows.orderBy('is_traversal', 'desc').orderBy('decky_count', 'desc');
  const [data, count] = await Promise.all([
    rows.orderBy('last_seen', 'desc').orderBy('uuid').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, data.map((r) => decodeAttacker(r as Record<string, unknown>)));
}

export async function countAttackers(db: Db): Promise<number> {
  const row = await q(db).selectFrom('attackers').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  return num(row?.n);
}

/** One page of an attacker's recorded commands, newest first, optionally of one service. */
export async function attackerCommands(db: Db, uuid: string, request: { service?: string | null } & PageRequest = {}): Promise<Page<AttackerCommand>> {
  const { limit, offset } = pageArgs(request, { maxLimit: 200 });
  const attacker = await getAttacker(db, uuid);
  if (!attacker) return page(0, limit, offset, []);
  let commands = [...attacker.commands].reverse();
  if (request.service) commands = commands.filter((c) => c.service === request.service);
  return page(commands.length, limit, offset, commands.slice(offset, offset + limit));
}

export interface Ipv6Leak {
  at: string | Date | number;
  link_local: string;
  iid_kind?: string | null;
  mac_oui?: string | null;
}

/** Counts an IPv6 address leak seen for the attacker and remembers the latest one. */
export async function recordIpv6Leak(db: Db, uuid: string, leak: Ipv6Leak): Promise<void> {
  const at = time('at', leak.at);
  await q(db)
    .updateTable('attackers')
    .set((eb) => ({
      ipv6_leak_count: eb('ipv6_leak_count', '+', 1),
      last_ipv6_leak_at: at,
      last_ipv6_link_local: ip('link_local', leak.link_local),
      last_ipv6_iid_kind: optName('iid_kind', leak.iid_kind),
      last_ipv6_mac_oui: optText('mac_oui', leak.mac_oui, 'name'),
      updated_at: nowIso(),
    }))
    .where('uuid', '=', name('uuid', uuid))
    .execute();
}

// ---- behaviour --------------------------------------------------------------------------------

export const BEHAVIOR_CLASSES = ['beaconing', 'interactive', 'scanning', 'brute_force', 'slow_scan', 'mixed', 'unknown'] as const;

export interface BehaviorUpsert {
  os_guess?: string | null;
  hop_distance?: number | null;
  tcp_fingerprint?: Record<string, unknown> | null;
  kex_order_raw?: unknown[] | null;
  ssh_client_banners?: string[] | null;
  retransmit_count?: number | null;
  behavior_class?: (typeof BEHAVIOR_CLASSES)[number] | null;
  beacon_interval_s?: number | null;
  beacon_jitter_pct?: number | null;
  tool_guesses?: string[] | null;
  timing_stats?: Record<string, unknown> | null;
  phase_sequence?: unknown[] | null;
}

export type BehaviorRow = Omit<AttackerBehaviorTable, 'tcp_fingerprint' | 'kex_order_raw' | 'ssh_client_banners' | 'tool_guesses' | 'timing_stats' | 'phase_sequence'> & {
  tcp_fingerprint: Record<string, unknown> | null;
  kex_order_raw: unknown[] | null;
  ssh_client_banners: string[] | null;
  tool_guesses: string[] | null;
  timing_stats: Record<string, unknown> | null;
  phase_sequence: unknown[] | null;
};

const BEHAVIOR_JSON = ['tcp_fingerprint', 'kex_order_raw', 'ssh_client_banners', 'tool_guesses', 'timing_stats', 'phase_sequence'] as const;

/** Creates or updates an attacker's behaviour record; undefined members keep their stored values. */
export async function upsertBehavior(db: Db, attackerUuid: string, data: BehaviorUpsert): Promise<void> {
  const c: Record<string, unknown> = {};
  if (data.os_guess !== undefined) c.os_guess = optText('os_guess', data.os_guess, 'short');
  if (data.hop_distance !== undefined) c.hop_distance = optInt('hop_distance', data.hop_distance, 0, 255);
  if (data.retransmit_count !== undefined) c.retransmit_count = optInt('retransmit_count', data.retransmit_count, 0);
  if (data.behavior_class !== undefined) c.behavior_class = data.behavior_class === null ? null : oneOf('behavior_class', data.behavior_class, BEHAVIOR_CLASSES);
  if (data.beacon_interval_s !== undefined) c.beacon_interval_s = optReal('beacon_interval_s', data.beacon_interval_s, 0);
  if (data.beacon_jitter_pct !== undefined) c.beacon_jitter_pct = optReal('beacon_jitter_pct', data.beacon_jitter_pct, 0);
  for (const k of BEHAVIOR_JSON) if (data[k] !== undefined) c[k] = data[k] === null ? null : json(k, data[k]);
  const now = nowIso();
  await q(db)
    .insertInto('attacker_behavior')
    .values({ attacker_uuid: name('attacker_uuid', attackerUuid), updated_at: now, ...c } as never)
    .onConflict((oc) => oc.column('attacker_uuid').doUpdateSet({ ...c, updated_at: now } as never))
    .execute();
}

export async function getBehavior(db: Db, attackerUuid: string): Promise<BehaviorRow | undefined> {
  const r = await q(db).selectFrom('attacker_behavior').selectAll().where('attacker_uuid', '=', name('attacker_uuid', attackerUuid)).executeTakeFirst();
  if (!r) return undefined;
  const out = { ...r } as Record<string, unknown>;
  for (const k of BEHAVIOR_JSON) out[k] = fromJson(r[k], null);
  return out as BehaviorRow;
}

/** Behaviour records of many attackers at once, keyed by attacker uuid. */
export async function getBehaviors(db: Db, attackerUuids: readonly string[]): Promise<Map<string, BehaviorRow>> {
  const uuids = [...new Set(attackerUuids.map((u, i) => name(`attacker_uuids[${i}]`, u)))];
  const out = new Map<string, BehaviorRow>();
  for (let i = 0; i < uuids.length; i += 500) {
    const rows = await q(db).selectFrom('attacker_behavior').selectAll().where('attacker_uuid', 'in', uuids.slice(i, i + 500)).execute();
    for (const r of rows) {
      const decoded = { ...r } as Record<string, unknown>;
      for (const k of BEHAVIOR_JSON) decoded[k] = fromJson(r[k], null);
      out.set(r.attacker_uuid, decoded as BehaviorRow);
    }
  }
  return out;
}

/** Deletes an attacker and (by cascade) its behaviour, fingerprints, observations, SMTP targets and tags. */
export async function deleteAttacker(db: Db, uuid: string): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const result = await q(tx).deleteFrom('attackers').where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
    return result.numDeletedRows > 0n;
  });
}

// ---- geolocation (the enrich worker) ----------------------------------------------------------

export interface AttackerGeo {
  /** Two-letter upper-case code, or null when the address is private or not in the dataset. */
  country_code: string | null;
  /** Where the answer came from (dataset name), or 'private' for special-purpose addresses. */
  country_source: string;
  asn: number | null;
  as_name: string | null;
  bgp_prefix: string | null;
  asn_source: string;
}

/** Records the country and AS of an attacker (only these columns change). */
export async function setAttackerGeo(db: Db, uuid: string, geo: AttackerGeo): Promise<boolean> {
  if (geo === null || typeof geo !== 'object') throw new DataError('geo', 'expected an object');
  const cc = optText('country_code', geo.country_code, 'name');
  if (cc !== null && !/^[A-Z]{2}$/.test(cc)) throw new DataError('country_code', `must be a two-letter upper-case country code, got ${JSON.stringify(cc)}`);
  const result = await q(db)
    .updateTable('attackers')
    .set({
      country_code: cc,
      country_source: name('country_source', geo.country_source),
      asn: optInt('asn', geo.asn, 0, 4_294_967_295),
      as_name: optText('as_name', geo.as_name, 'short'),
      bgp_prefix: optText('bgp_prefix', geo.bgp_prefix, 'name'),
      asn_source: name('asn_source', geo.asn_source),
      updated_at: nowIso(),
    })
    .where('uuid', '=', name('uuid', uuid))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Attackers whose country or AS was never looked up, most recently seen first. */
export async function listAttackersWithoutGeo(db: Db, limit = 500): Promise<{ uuid: string; ip: string }[]> {
  return q(db)
    .selectFrom('attackers')
    .select(['uuid', 'ip'])
    .where((eb) => eb.or([eb('country_source', 'is', null), eb('asn_source', 'is', null)]))
    .orderBy('last_seen', 'desc')
    .limit(int('limit', limit, 1, 10_000))
    .execute();
}
