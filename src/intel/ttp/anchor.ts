// A stored tag must name its attacker (ttp_tag.attacker_uuid references attackers). The profiler
// creates attacker rows; when a tag's address has none yet, the caller either waits for the
// profiler or, past its patience, anchors the tag with a minimal attacker row. The profiler's own
// upsert later merges into that row (first_seen only moves earlier, last_seen only later).
import type { Db } from '../../db/types.ts';
import { attackerUuidsByIps, upsertAttacker } from '../../db/attackers/repo.ts';

export interface AnchorSpan {
  /** Earliest and latest event time of the tags waiting for this address. */
  first: string;
  last: string;
}

/** Attacker uuids by address, for the addresses that have a row. */
export function resolveAttackers(db: Db, ips: Iterable<string>): Promise<Map<string, string>> {
  const list = [...new Set(ips)];
  return list.length === 0 ? Promise.resolve(new Map()) : attackerUuidsByIps(db, list);
}

/** Creates (or merges into) the attacker rows of these addresses; their uuids by address. */
export async function anchorAttackers(db: Db, spans: ReadonlyMap<string, AnchorSpan>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [ip, span] of spans) {
    const { uuid } = await upsertAttacker(db, { ip, first_seen: span.first, last_seen: span.last });
    out.set(ip, uuid);
  }
  return out;
}

export function widen(spans: Map<string, AnchorSpan>, ip: string, ts: string): void {
  const s = spans.get(ip);
  if (!s) spans.set(ip, { first: ts, last: ts });
  else {
    if (ts < s.first) s.first = ts;
    if (ts > s.last) s.last = ts;
  }
}
