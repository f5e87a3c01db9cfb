// `decnet ttp backfill`: replays stored log rows through the rule engine (fresh per-attacker state,
// as createMatcher keeps it) and stores the tags. Tag ids are deterministic, so a replay over rows
// the worker already tagged inserts nothing; nothing is published on the bus.
import type { Db } from '../../db/types.ts';
import type { TagInput } from '../../db/ttp/repo.ts';
import type { TtpEngine } from './engine.ts';
import { createMatcher } from './matcher.ts';
import { logRowToEvent, tagToInput } from './stored-tags.ts';
import { anchorAttackers, resolveAttackers, widen, type AnchorSpan } from './anchor.ts';

export interface BackfillResult {
  rows: number;
  events: number;
  tags_matched: number;
  tags_inserted: number;
  /** Attacker rows created for addresses the profiler had not recorded. */
  attackers_anchored: number;
}

export interface BackfillOptions {
  /** Replay rows whose event time is at or after this (epoch ms). */
  sinceMs: number;
  batch?: number;
  onProgress?: (r: BackfillResult) => void;
  signal?: AbortSignal;
}

export async function backfillTags(db: Db, engine: TtpEngine, opts: BackfillOptions): Promise<BackfillResult> {
  const { logsAfterIdSince } = await import('../../db/logs/repo.ts');
  const { insertNewTags } = await import('../../db/ttp/repo.ts');
  const { inTransaction } = await import('../../db/query.ts');
  const matcher = createMatcher(engine);
  const result: BackfillResult = { rows: 0, events: 0, tags_matched: 0, tags_inserted: 0, attackers_anchored: 0 };
  const batch = opts.batch ?? 1000;
  const since = new Date(opts.sinceMs).toISOString();
  let cursor = 0;
  for (;;) {
    if (opts.signal?.aborted) break;
    const rows = await logsAfterIdSince(db, cursor, since, batch);
    if (rows.length === 0) break;
    cursor = rows[rows.length - 1]!.id;
    result.rows += rows.length;
    const found: { ip: string; tag: TagInput }[] = [];
    for (const row of rows) {
      const event = logRowToEvent(row);
      if (!event) continue;
      result.events++;
      const sessionId = typeof row.fields?.session_id === 'string' ? row.fields.session_id : undefined;
      for (const tag of matcher.match(event)) found.push({ ip: event.attacker_ip, tag: tagToInput(tag, { logId: row.id, sessionId }, engine.catalogue) });
    }
    result.tags_matched += found.length;
    if (found.length > 0) {
      const known = await resolveAttackers(db, found.map((f) => f.ip));
      const missing = new Map<string, AnchorSpan>();
      for (const f of found) if (!known.has(f.ip)) widen(missing, f.ip, String(f.tag.created_at));
      const inserted = await inTransaction(db, async (tx) => {
        const anchored = await anchorAttackers(tx, missing);
        result.attackers_anchored += anchored.size;
        const ready = found.map((f) => ({ ...f.tag, attacker_uuid: known.get(f.ip) ?? anchored.get(f.ip)! }));
        return insertNewTags(tx, ready);
      });
      result.tags_inserted += inserted.length;
    }
    opts.onProgress?.({ ...result });
    if (rows.length < batch) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return result;
}
