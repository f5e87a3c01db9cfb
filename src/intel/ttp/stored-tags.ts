// The bridge between the engine's tags and the ttp_tag table: a stored log row becomes an engine
// event, an engine tag becomes a row (keeping the engine's deterministic id, so a replay inserts
// nothing twice), and a stored row becomes an engine tag again for the exports.
import type { LogRow } from '../../db/logs/repo.ts';
import type { TagInput, TagRow } from '../../db/ttp/repo.ts';
import type { AttackCatalogue } from './catalogue.ts';
import { parentTechniqueId } from './catalogue.ts';
import { toTtpEvent } from './to-event.ts';
import type { TagEvidence, TtpEvent, TtpTag } from './types.ts';

const MAX_SESSION_ID = 128;

/** The engine event of a stored log row; undefined for rows without an attacker or an event name. */
export function logRowToEvent(row: LogRow): TtpEvent | undefined {
  if (!row.attacker_ip || !row.event_type || !row.decky || !row.service) return undefined;
  const fields: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(row.fields ?? {})) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = v;
  }
  return toTtpEvent({
    ts: row.ts,
    decky: row.decky,
    service: row.service,
    event: row.event_type,
    attacker_ip: row.attacker_ip,
    src_port: row.src_port ?? undefined,
    dst_ip: row.dst_ip ?? undefined,
    dst_port: row.dst_port ?? undefined,
    fields,
  });
}

/** What the stored evidence holds beyond the engine's: enough to rebuild the tag for an export. */
export interface StoredEvidence extends TagEvidence {
  attacker_ip: string;
  service: string;
  tactics: string[];
  technique_name: string;
}

/** A ttp_tag row for an engine tag (attacker_uuid still to be filled in). */
export function tagToInput(tag: TtpTag, source: { logId?: number; sessionId?: string }, catalogue: AttackCatalogue): TagInput {
  const parent = tag.parent_technique || parentTechniqueId(tag.technique_id);
  const evidence: StoredEvidence = { ...tag.evidence, attacker_ip: tag.attacker_ip, service: tag.service, tactics: tag.tactics, technique_name: tag.technique_name };
  const session = source.sessionId && source.sessionId.length <= MAX_SESSION_ID ? source.sessionId : null;
  return {
    uuid: tag.id,
    source_kind: tag.evidence.event === 'command' ? 'command' : 'event',
    // The engine's id already identifies the tag; the source names the log row that raised it.
    source_id: source.logId !== undefined ? `log:${source.logId}` : `tag:${tag.id}`,
    rule_id: tag.rule_id,
    rule_version: tag.rule_version,
    technique_id: parent,
    sub_technique_id: tag.technique_id === parent ? null : tag.technique_id,
    session_id: session,
    decky_id: tag.decky,
    tactic: tag.tactics[0] ?? null,
    confidence: tag.confidence,
    evidence: evidence as unknown as Record<string, unknown>,
    attack_release: tag.attack_version,
    mitre_url: catalogue.techniques.get(tag.technique_id)?.url ?? null,
    created_at: tag.ts,
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The engine tag of a stored row, for the exports. `ipOf` gives the attacker's address for rows
 * whose evidence does not carry it (tags written by something other than the rule engine).
 */
export function rowToTag(row: TagRow, catalogue: AttackCatalogue, ipOf: (attackerUuid: string | null) => string | undefined): TtpTag | undefined {
  const techniqueId = row.sub_technique_id ?? row.technique_id;
  const technique = catalogue.techniques.get(techniqueId);
  if (!technique) return undefined;
  const e = row.evidence ?? {};
  const attackerIp = str(e.attacker_ip) ?? ipOf(row.attacker_uuid);
  if (!attackerIp) return undefined;
  const fields: Record<string, string> = {};
  if (e.fields && typeof e.fields === 'object') for (const [k, v] of Object.entries(e.fields as Record<string, unknown>)) if (typeof v === 'string') fields[k] = v;
  const evidence: TagEvidence = {
    event: str(e.event) ?? row.source_kind,
    ts: str(e.ts) ?? row.created_at,
    text: str(e.text) ?? '',
    fields,
    key: str(e.key) ?? row.source_id,
  };
  const matched = str(e.matched);
  if (matched !== undefined) evidence.matched = matched;
  const agg = e.aggregate as TagEvidence['aggregate'] | undefined;
  if (agg && typeof agg.count === 'number' && typeof agg.window_s === 'number' && typeof agg.first_ts === 'string') evidence.aggregate = agg;
  const tactics = Array.isArray(e.tactics) && e.tactics.every((t) => typeof t === 'string') ? (e.tactics as string[]) : row.tactic ? [row.tactic] : [...technique.tactics];
  return {
    id: row.uuid,
    technique_id: technique.id,
    technique_name: technique.name,
    parent_technique: row.technique_id,
    tactics,
    rule_id: row.rule_id,
    rule_version: row.rule_version,
    confidence: row.confidence,
    attacker_ip: attackerIp,
    decky: row.decky_id ?? 'unknown',
    service: str(e.service) ?? 'unknown',
    ts: row.created_at,
    attack_version: row.attack_release ?? catalogue.version,
    evidence,
  };
}
