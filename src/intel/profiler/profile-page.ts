// One profiler step, in one transaction: read the cursor, the next page of stored events, and the
// profiles of the addresses in it; fold the events in; write the profiles, their behaviour, the
// credential back-links and the new cursor. Two profilers (a mistaken second instance) serialise on
// the transaction instead of counting the same events twice.
import type { Db } from '../../db/types.ts';
import { inTransaction } from '../../db/query.ts';
import { getState, setState } from '../../db/state/repo.ts';
import { logsAfterId, type LogRow } from '../../db/logs/repo.ts';
import { getAttackersByIps, getBehaviors, upsertAttacker, upsertBehavior } from '../../db/attackers/repo.ts';
import { backfillCredentialAttacker, countCredentialsForIp } from '../../db/credentials/repo.ts';
import { bountiesForIps, countBountiesForIp } from '../../db/bounty/repo.ts';
import { mayHaveFindings } from '../../pipeline/extract.ts';
import { mergeProfile } from './profile-merge.ts';

export const CURSOR_KEY = 'profiler:cursor';
const MAX_FINGERPRINTS = 200;

export interface ProfiledAttacker {
  ip: string;
  uuid: string;
  firstSighting: boolean;
  first: { decky: string | null; service: string | null; event_type: string | null; ts: string };
  event_count: number;
  service_count: number;
  decky_count: number;
  bounty_count: number;
  credential_count: number;
  is_traversal: boolean;
  behavior_class: string;
  tool_guesses: string[];
}

export interface PageResult {
  rows: number;
  lastId: number;
  attackers: ProfiledAttacker[];
}

interface Cursor {
  last_log_id: number;
}

export async function readCursor(db: Db): Promise<number> {
  const c = await getState<Cursor>(db, CURSOR_KEY);
  return c && Number.isInteger(c.last_log_id) && c.last_log_id >= 0 ? c.last_log_id : 0;
}

/** Processes the next page; null when there was nothing after the cursor. */
export async function profilePage(db: Db, pageSize: number): Promise<PageResult | null> {
  return inTransaction(db, async (tx) => {
    const cursor = await readCursor(tx);
    const rows = await logsAfterId(tx, cursor, pageSize);
    if (rows.length === 0) return null;
    const byIp = new Map<string, LogRow[]>();
    for (const r of rows) {
      if (!r.attacker_ip) continue;
      (byIp.get(r.attacker_ip) ?? byIp.set(r.attacker_ip, []).get(r.attacker_ip)!).push(r);
    }
    const prevs = await getAttackersByIps(tx, [...byIp.keys()]);
    const behaviors = await getBehaviors(tx, [...prevs.values()].map((a) => a.uuid));
    const out: ProfiledAttacker[] = [];
    for (const [ip, events] of byIp) {
      const prev = prevs.get(ip);
      const merged = mergeProfile(ip, prev, prev ? behaviors.get(prev.uuid) : undefined, events);
      const recount = !prev || merged.firstSighting || events.some((e) => mayHaveFindings(e.fields, e.raw_line));
      let credentialCount = prev?.credential_count ?? 0;
      let bountyCount = prev?.bounty_count ?? 0;
      if (recount) {
        credentialCount = await countCredentialsForIp(tx, ip);
        bountyCount = await countBountiesForIp(tx, ip);
        const fingerprints = (await bountiesForIps(tx, [ip], 'fingerprint')).slice(-MAX_FINGERPRINTS).map((b) => {
          const p = (b.payload ?? {}) as Record<string, unknown>;
          return { type: p.fingerprint_type ?? null, value: p.value ?? null, tool: p.tool ?? null, service: b.service, decky: b.decky, ts: b.ts };
        });
        merged.attacker.fingerprints = fingerprints;
        merged.attacker.credential_count = credentialCount;
        merged.attacker.bounty_count = bountyCount;
      }
      const { uuid } = await upsertAttacker(tx, merged.attacker);
      await upsertBehavior(tx, uuid, merged.behavior);
      if (recount && credentialCount > 0) await backfillCredentialAttacker(tx, ip, uuid);
      const e0 = events[0];
      out.push({
        ip,
        uuid,
        firstSighting: merged.firstSighting,
        first: { decky: e0.decky, service: e0.service, event_type: e0.event_type, ts: merged.attacker.first_seen as string },
        event_count: merged.attacker.event_count ?? 0,
        service_count: merged.attacker.service_count ?? 0,
        decky_count: merged.attacker.decky_count ?? 0,
        bounty_count: bountyCount,
        credential_count: credentialCount,
        is_traversal: merged.attacker.is_traversal ?? false,
        behavior_class: merged.behaviorClass,
        tool_guesses: merged.toolGuesses,
      });
    }
    const lastId = rows[rows.length - 1].id;
    await setState(tx, CURSOR_KEY, { last_log_id: lastId, updated_at: new Date().toISOString() });
    return { rows: rows.length, lastId, attackers: out };
  });
}
