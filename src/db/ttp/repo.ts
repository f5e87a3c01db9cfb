// TTP repository: ATT&CK tags (insert-or-ignore under a deterministic id, so tagging the same
// event twice stores one tag), rollups per attacker or identity, and the rule store tables.
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Db, Page } from '../types.ts';
import type { TtpTables } from './schema.ts';
import { chunks, inTransaction, page, pageArgs } from '../query.ts';
import { DataError, fromJson, int, json, name, nowIso, num, oneOf, optName, optText, optTime, optReal, real, text, time } from '../values.ts';

/** Tags below this confidence are not stored. */
export const MIN_CONFIDENCE = 0.3;
export const SOURCE_KINDS = ['command', 'intel', 'email', 'canary_fingerprint', 'http_fingerprint', 'ipv6_leak', 'event'] as const;
const TECHNIQUE = /^T\d{4}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUB_TECHNIQUE = /^T\d{4}\.\d{3}$/;

function uuidFromBytes(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** RFC 9562 name-based UUID (version 5, SHA-1). */
export function uuidv5(nameText: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`namespace ${namespace} is not a UUID`);
  const digest = createHash('sha1').update(ns).update(nameText, 'utf8').digest().subarray(0, 16);
  digest[6] = (digest[6] & 0x0f) | 0x50;
  digest[8] = (digest[8] & 0x3f) | 0x80;
  return uuidFromBytes(digest);
}

const NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';
/** Namespace of tag ids: uuid5(NAMESPACE_URL, "decnet:ttp_tag:v1"). */
export const TAG_NAMESPACE = uuidv5('decnet:ttp_tag:v1', NAMESPACE_URL);

export interface TagIdentity {
  source_kind: string;
  source_id: string;
  rule_id: string;
  rule_version: number;
  technique_id: string;
  sub_technique_id?: string | null;
}

/** The deterministic id of a tag: the same source, rule and technique always give the same id. */
export function ttpTagUuid(t: TagIdentity): string {
  return uuidv5([t.source_kind, t.source_id, t.rule_id, String(t.rule_version), t.technique_id, t.sub_technique_id ?? ''].join('|'), TAG_NAMESPACE);
}

export interface TagInput extends TagIdentity {
  /** The tag's id when the caller already derives a deterministic one (the rule engine's); else ttpTagUuid(). */
  uuid?: string;
  attacker_uuid?: string | null;
  identity_uuid?: string | null;
  session_id?: string | null;
  decky_id?: string | null;
  tactic?: string | null;
  confidence: number;
  evidence?: Record<string, unknown>;
  attack_release?: string | null;
  mitre_url?: string | null;
  created_at?: string | Date | number;
}

export interface TagRow extends Required<Omit<TagInput, 'created_at' | 'evidence'>> {
  uuid: string;
  evidence: Record<string, unknown>;
  created_at: string;
}

const q = (db: Db) => db.kysely as Kysely<TtpTables>;

function tagValues(t: TagInput, at: string) {
  if (t === null || typeof t !== 'object') throw new DataError(at, 'expected a tag object');
  const attacker = optName(`${at}.attacker_uuid`, t.attacker_uuid);
  const identity = optName(`${at}.identity_uuid`, t.identity_uuid);
  if (!attacker && !identity) throw new DataError(at, 'a tag needs attacker_uuid or identity_uuid');
  const technique = text(`${at}.technique_id`, t.technique_id, 'name');
  if (!TECHNIQUE.test(technique)) throw new DataError(`${at}.technique_id`, `${JSON.stringify(technique)} is not an ATT&CK technique id (T1234)`);
  const sub = optText(`${at}.sub_technique_id`, t.sub_technique_id, 'name');
  if (sub !== null && !SUB_TECHNIQUE.test(sub)) throw new DataError(`${at}.sub_technique_id`, `${JSON.stringify(sub)} is not a sub-technique id (T1234.001)`);
  const identityParts: TagIdentity = {
    source_kind: oneOf(`${at}.source_kind`, t.source_kind, SOURCE_KINDS),
    source_id: text(`${at}.source_id`, t.source_id, 'short'),
    rule_id: name(`${at}.rule_id`, t.rule_id),
    rule_version: int(`${at}.rule_version`, t.rule_version, 0),
    technique_id: technique,
    sub_technique_id: sub,
  };
  let uuid = ttpTagUuid(identityParts);
  if (t.uuid !== undefined) {
    if (typeof t.uuid !== 'string' || !UUID.test(t.uuid)) throw new DataError(`${at}.uuid`, `${JSON.stringify(t.uuid)} is not a lower-case UUID`);
    uuid = t.uuid;
  }
  return {
    uuid,
    ...identityParts,
    sub_technique_id: sub,
    attacker_uuid: attacker,
    identity_uuid: identity,
    session_id: optText(`${at}.session_id`, t.session_id, 'short'),
    decky_id: optName(`${at}.decky_id`, t.decky_id),
    tactic: optName(`${at}.tactic`, t.tactic),
    confidence: real(`${at}.confidence`, t.confidence, 0, 1),
    evidence: json(`${at}.evidence`, t.evidence ?? {}),
    attack_release: optText(`${at}.attack_release`, t.attack_release, 'name'),
    mitre_url: optText(`${at}.mitre_url`, t.mitre_url, 'url'),
    created_at: optTime(`${at}.created_at`, t.created_at) ?? nowIso(),
  };
}

/** Stores the tags not stored before and at least MIN_CONFIDENCE; returns how many were new. */
export async function insertTags(db: Db, tags: readonly TagInput[]): Promise<number> {
  const rows = tags.map((t, i) => tagValues(t, `tags[${i}]`)).filter((t) => t.confidence >= MIN_CONFIDENCE);
  if (rows.length === 0) return 0;
  return inTransaction(db, async (tx) => {
    let inserted = 0;
    for (const group of chunks(rows, 50)) {
      const result = await q(tx).insertInto('ttp_tag').values(group).onConflict((oc) => oc.column('uuid').doNothing()).executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return inserted;
  });
}

/**
 * Like insertTags, but returns the ids of the rows actually inserted (tags already stored, or below
 * MIN_CONFIDENCE, are left out), so a caller can announce exactly what is new.
 */
export async function insertNewTags(db: Db, tags: readonly TagInput[]): Promise<string[]> {
  const rows = tags.map((t, i) => tagValues(t, `tags[${i}]`)).filter((t) => t.confidence >= MIN_CONFIDENCE);
  if (rows.length === 0) return [];
  return inTransaction(db, async (tx) => {
    const inserted: string[] = [];
    for (const group of chunks(rows, 50)) {
      const result = await q(tx).insertInto('ttp_tag').values(group).onConflict((oc) => oc.column('uuid').doNothing()).returning('uuid').execute();
      for (const r of result) inserted.push(r.uuid);
    }
    return inserted;
  });
}

function decodeTag(r: Record<string, unknown>): TagRow {
  return { ...(r as unknown as TagRow), confidence: num(r.confidence), rule_version: num(r.rule_version), evidence: fromJson(r.evidence, {}) };
}

export async function listTags(db: Db, who: { attacker_uuid?: string; identity_uuid?: string; session_id?: string }, limit = 1000): Promise<TagRow[]> {
  let query = q(db).selectFrom('ttp_tag').selectAll();
  if (who.attacker_uuid) query = query.where('attacker_uuid', '=', name('attacker_uuid', who.attacker_uuid));
  if (who.identity_uuid) query = query.where('identity_uuid', '=', name('identity_uuid', who.identity_uuid));
  if (who.session_id) query = query.where('session_id', '=', text('session_id', who.session_id, 'short'));
  if (!who.attacker_uuid && !who.identity_uuid && !who.session_id) throw new DataError('who', 'name an attacker_uuid, identity_uuid or session_id');
  const rows = await query.orderBy('created_at').limit(int('limit', limit, 1, 100_000)).execute();
  return rows.map((r) => decodeTag(r as Record<string, unknown>));
}

/**
 * Tags created at or after `since` (and before `until`), oldest first; `after` continues a listing
 * from the last row of the previous page (its created_at and uuid).
 */
export async function listTagsSince(
  db: Db,
  request: { since?: string | Date | number | null; until?: string | Date | number | null; after?: { created_at: string; uuid: string }; limit?: number } = {},
): Promise<TagRow[]> {
  let query = q(db).selectFrom('ttp_tag').selectAll();
  const since = optTime('since', request.since);
  const until = optTime('until', request.until);
  if (since) query = query.where('created_at', '>=', since);
  if (until) query = query.where('created_at', '<', until);
  if (request.after) {
    const at = time('after.created_at', request.after.created_at);
    const id = name('after.uuid', request.after.uuid);
    query = query.where((eb) => eb.or([eb('created_at', '>', at), eb.and([eb('created_at', '=', at), eb('uuid', '>', id)])]));
  }
  const rows = await query.orderBy('created_at').orderBy('uuid').limit(int('limit', request.limit ?? 1000, 1, 100_000)).execute();
  return rows.map((r) => decodeTag(r as Record<string, unknown>));
}

export interface TechniqueRollup {
  technique_id: string;
  sub_technique_id: string | null;
  tactic: string | null;
  count: number;
  max_confidence: number;
  first_seen: string;
  last_seen: string;
}

/** Techniques seen for an attacker or an identity, most frequent first. */
export async function techniqueRollup(db: Db, who: { attacker_uuid?: string; identity_uuid?: string }): Promise<TechniqueRollup[]> {
  let query = q(db).selectFrom('ttp_tag');
  if (who.attacker_uuid) query = query.where('attacker_uuid', '=', name('attacker_uuid', who.attacker_uuid));
  else if (who.identity_uuid) query = query.where('identity_uuid', '=', name('identity_uuid', who.identity_uuid));
  else throw new DataError('who', 'name an attacker_uuid or identity_uuid');
  const rows = await query
    .select((eb) => [
      'technique_id',
      'sub_technique_id',
      eb.fn.max('tactic').as('tactic'),
      eb.fn.countAll().as('n'),
      eb.fn.max('confidence').as('max_confidence'),
      eb.fn.min('created_at').as('first_seen'),
      eb.fn.max('created_at').as('last_seen'),
    ])
    .groupBy(['technique_id', 'sub_technique_id'])
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('technique_id')
    .execute();
  return rows.map((r) => ({
    technique_id: r.technique_id,
    sub_technique_id: r.sub_technique_id,
    tactic: (r.tactic as string | null) ?? null,
    count: num(r.n),
    max_confidence: num(r.max_confidence),
    first_seen: r.first_seen as string,
    last_seen: r.last_seen as string,
  }));
}

/** (identity, decky, tactic, time) of tags since a time: the campaign clusterer's phase hand-offs. */
export async function listTagPhases(db: Db, since: string | Date | number, limit = 100_000): Promise<{ identity_uuid: string | null; attacker_uuid: string | null; decky_id: string | null; tactic: string | null; created_at: string }[]> {
  return q(db)
    .selectFrom('ttp_tag')
    .select(['identity_uuid', 'attacker_uuid', 'decky_id', 'tactic', 'created_at'])
    .where('created_at', '>=', optTime('since', since)!)
    .orderBy('created_at')
    .limit(int('limit', limit, 1, 1_000_000))
    .execute();
}

// ---- rule store ------------------------------------------------------------------------------

export interface RuleRow {
  rule_id: string;
  rule_version: number;
  source_path: string | null;
  yaml_content: string;
  updated_at: string;
  updated_by: string | null;
}

export async function upsertRule(db: Db, rule: { rule_id: string; rule_version: number; yaml_content: string; source_path?: string | null; updated_by?: string | null }): Promise<void> {
  const values = {
    rule_id: name('rule_id', rule.rule_id),
    rule_version: int('rule_version', rule.rule_version, 0),
    source_path: optText('source_path', rule.source_path, 'url'),
    yaml_content: text('yaml_content', rule.yaml_content, 'document'),
    updated_at: nowIso(),
    updated_by: optName('updated_by', rule.updated_by),
  };
  const { rule_id: _id, ...update } = values;
  await q(db).insertInto('ttp_rule').values(values).onConflict((oc) => oc.column('rule_id').doUpdateSet(update)).execute();
}

export async function getRule(db: Db, ruleId: string): Promise<RuleRow | undefined> {
  const row = await q(db).selectFrom('ttp_rule').selectAll().where('rule_id', '=', name('rule_id', ruleId)).executeTakeFirst();
  return row ? { ...row, rule_version: num(row.rule_version) } : undefined;
}

export async function listRules(db: Db): Promise<RuleRow[]> {
  const rows = await q(db).selectFrom('ttp_rule').selectAll().orderBy('rule_id').execute();
  return rows.map((r) => ({ ...r, rule_version: num(r.rule_version) }));
}

export async function deleteRule(db: Db, ruleId: string): Promise<boolean> {
  return (await q(db).deleteFrom('ttp_rule').where('rule_id', '=', name('rule_id', ruleId)).executeTakeFirst()).numDeletedRows > 0n;
}

export const RULE_STATES = ['enabled', 'disabled', 'clipped'] as const;

export interface RuleStateRow {
  rule_id: string;
  state: (typeof RULE_STATES)[number];
  confidence_max: number | null;
  expires_at: string | null;
  reason: string | null;
  set_by: string | null;
  set_at: string;
}

export async function setRuleState(db: Db, s: { rule_id: string; state: (typeof RULE_STATES)[number]; confidence_max?: number | null; expires_at?: string | Date | number | null; reason?: string | null; set_by?: string | null }): Promise<void> {
  const values = {
    rule_id: name('rule_id', s.rule_id),
    state: oneOf('state', s.state, RULE_STATES),
    confidence_max: optReal('confidence_max', s.confidence_max, 0, 1),
    expires_at: optTime('expires_at', s.expires_at),
    reason: optText('reason', s.reason, 'short'),
    set_by: optName('set_by', s.set_by),
    set_at: nowIso(),
  };
  if (values.state === 'clipped' && values.confidence_max === null) throw new DataError('confidence_max', 'a clipped rule needs confidence_max');
  const { rule_id: _id, ...update } = values;
  await q(db).insertInto('ttp_rule_state').values(values).onConflict((oc) => oc.column('rule_id').doUpdateSet(update)).execute();
}

export async function getRuleState(db: Db, ruleId: string): Promise<RuleStateRow | undefined> {
  const row = await q(db).selectFrom('ttp_rule_state').selectAll().where('rule_id', '=', name('rule_id', ruleId)).executeTakeFirst();
  return row ? (row as RuleStateRow) : undefined;
}

export async function listRuleStates(db: Db): Promise<RuleStateRow[]> {
  return (await q(db).selectFrom('ttp_rule_state').selectAll().orderBy('rule_id').execute()) as RuleStateRow[];
}

export interface TechniqueSummary {
  technique_id: string;
  sub_technique_id: string | null;
  tactic: string | null;
  count: number;
  attackers: number;
  max_confidence: number;
  first_seen: string;
  last_seen: string;
}

/** Techniques seen across the whole fleet, most frequent first (the dashboard's ATT&CK summary). */
export async function techniqueSummary(db: Db, options: { limit?: number } = {}): Promise<TechniqueSummary[]> {
  const rows = await q(db)
    .selectFrom('ttp_tag')
    .select((eb) => [
      'technique_id',
      'sub_technique_id',
      eb.fn.max('tactic').as('tactic'),
      eb.fn.countAll().as('n'),
      eb.fn.count('attacker_uuid').distinct().as('attackers'),
      eb.fn.max('confidence').as('max_confidence'),
      eb.fn.min('created_at').as('first_seen'),
      eb.fn.max('created_at').as('last_seen'),
    ])
    .groupBy(['technique_id', 'sub_technique_id'])
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('technique_id')
    .orderBy('sub_technique_id')
    .limit(int('limit', options.limit ?? 1000, 1, 10_000))
    .execute();
  return rows.map((r) => ({
    technique_id: r.technique_id,
    sub_technique_id: r.sub_technique_id,
    tactic: (r.tactic as string | null) ?? null,
    count: num(r.n),
    attackers: num(r.attackers),
    max_confidence: num(r.max_confidence),
    first_seen: r.first_seen as string,
    last_seen: r.last_seen as string,
  }));
}

export interface TagPageRequest {
  attacker_uuid?: string | null;
  identity_uuid?: string | null;
  /** A technique (T1234, also matching its sub-techniques) or one sub-technique (T1234.001). */
  technique_id?: string | null;
  limit?: number;
  offset?: number;
}

/** One page of tags, newest first, optionally of one attacker, identity or technique. */
export async function listTagsPage(db: Db, request: TagPageRequest = {}): Promise<Page<TagRow>> {
  const { limit, offset } = pageArgs(request);
  let query = q(db).selectFrom('ttp_tag');
  if (request.attacker_uuid) query = query.where('attacker_uuid', '=', name('attacker_uuid', request.attacker_uuid));
  if (request.identity_uuid) query = query.where('identity_uuid', '=', name('identity_uuid', request.identity_uuid));
  if (request.technique_id) {
    const t = text('technique_id', request.technique_id, 'name');
    if (SUB_TECHNIQUE.test(t)) query = query.where('sub_technique_id', '=', t);
    else if (TECHNIQUE.test(t)) query = query.where('technique_id', '=', t);
    else throw new DataError('technique_id', `${JSON.stringify(t)} is not an ATT&CK technique id (T1234 or T1234.001)`);
  }
  const [rows, count] = await Promise.all([
    query.selectAll().orderBy('created_at', 'desc').orderBy('uuid').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return page(num(count?.n), limit, offset, rows.map((r) => decodeTag(r as Record<string, unknown>)));
}
