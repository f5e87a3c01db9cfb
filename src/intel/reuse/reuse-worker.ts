// The `reuse-correlator` worker: the same credential (secret, kind and principal) tried on more
// than one decky or service, or from more than one source IP, becomes a `credential_reuse` row.
// It follows the credentials table by id cursor, so each pass looks only at the groups that got a
// new member; `credential.reuse.detected` is published once per new occurrence (a group that
// starts to qualify, or gains a decky, service or source IP), never again for the same state,
// also across restarts (the comparison is with the stored row). Counts are recomputed from the
// credentials table, never accumulated, so they cannot inflate.
import { defineWorker, sleep, WorkerFatalError, type WorkerContext } from '../../fleet/worker.ts';
import { topics } from '../../bus/topics.ts';
import type { Database, Db } from '../../db/types.ts';
import { inTransaction } from '../../db/query.ts';
import { getState, setState } from '../../db/state/repo.ts';
import {
  credentialKeysAfterId,
  credentialKeysForIp,
  findReuseCandidates,
  reuseFindingsForKeys,
  reuseKeyOf,
  reuseRowsForKeys,
  upsertCredentialReuse,
  type ReuseFinding,
  type ReuseKey,
  type ReuseRow,
} from '../../db/credentials/repo.ts';
import { Waker } from '../wake.ts';

export const REUSE_CURSOR_KEY = 'reuse-correlator:cursor';
const FULL_SWEEP_MS = 15 * 60_000;
/** Passes start at most this often: a burst of captured credentials is handled in one pass, and
 * the database's write lock stays free for the ingester and the profiler in between. */
const MIN_PASS_GAP_MS = 1000;
const MAX_PENDING_IPS = 10_000;

export interface ReuseSettings {
  minTargets: number;
  /** 0: a single source IP never makes a reuse by itself. */
  minSources: number;
}

export interface ReuseDetection {
  row: ReuseRow;
  isNew: boolean;
  added: { deckies: string[]; services: string[]; attacker_ips: string[] };
}

function qualifies(f: ReuseFinding, s: ReuseSettings): boolean {
  return f.target_count >= s.minTargets || (s.minSources >= 2 && f.attacker_ips.length >= s.minSources);
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const added = (now: readonly string[], before: readonly string[]) => now.filter((v) => !before.includes(v));

function unchanged(f: ReuseFinding, r: ReuseRow): boolean {
  return (
    f.target_count === r.target_count &&
    f.attempt_count === r.attempt_count &&
    f.first_seen === r.first_seen &&
    f.last_seen === r.last_seen &&
    sameList(f.deckies, r.deckies) &&
    sameList(f.services, r.services) &&
    sameList(f.attacker_ips, r.attacker_ips) &&
    sameList(f.attacker_uuids, r.attacker_uuids)
  );
}

/** Recomputes the given groups and stores what changed; returns the new occurrences to announce. */
export async function correlateKeys(db: Db, keys: readonly ReuseKey[], settings: ReuseSettings, cursor?: number): Promise<ReuseDetection[]> {
  return inTransaction(db, async (tx) => {
    const detections: ReuseDetection[] = [];
    if (keys.length > 0) {
      const findings = await reuseFindingsForKeys(tx, keys);
      const stored = await reuseRowsForKeys(tx, keys);
      for (const f of findings) {
        if (!qualifies(f, settings)) continue;
        const before = stored.get(reuseKeyOf(f));
        if (before && unchanged(f, before)) continue;
        const result = await upsertCredentialReuse(tx, f, { minTargets: settings.minTargets, minAttackerIps: settings.minSources >= 2 ? settings.minSources : undefined });
        if (!result) continue;
        const grew = before
          ? { deckies: added(f.deckies, before.deckies), services: added(f.services, before.services), attacker_ips: added(f.attacker_ips, before.attacker_ips) }
          : { deckies: f.deckies, services: f.services, attacker_ips: f.attacker_ips };
        if (!before || grew.deckies.length + grew.services.length + grew.attacker_ips.length > 0) detections.push({ row: result.row, isNew: !before, added: grew });
      }
    }
    if (cursor !== undefined) await setState(tx, REUSE_CURSOR_KEY, { last_credential_id: cursor });
    return detections;
  });
}

function option(config: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number, max: number): number {
  const v = config[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new WorkerFatalError(`reuse-correlator: --${key} must be a whole number from ${min} to ${max}; got ${JSON.stringify(v)}`);
  return n;
}

export default defineWorker({
  name: 'reuse-correlator',
  summary: 'finds the same credential tried across deckies, services or source IPs',
  async run(ctx: WorkerContext) {
    const intervalMs = option(ctx.config, 'interval', 60, 1, 3600) * 1000;
    const minTargets = option(ctx.config, 'min-targets', 2, 2, 1000);
    const minSources = option(ctx.config, 'min-sources', 2, 0, 1000);
    if (minSources === 1) throw new WorkerFatalError('reuse-correlator: --min-sources must be 0 (off) or at least 2');
    const settings: ReuseSettings = { minTargets, minSources };
    const db = (await ctx.db()) as Database;
    const waker = new Waker(ctx.bus, [topics.credentialCaptured], ctx.signal);

    // attacker.observed: the profiler has just linked an address's credentials to its attacker row,
    // so that address's groups are recomputed (their attacker_uuids change).
    const pendingIps = new Set<string>();
    const observed = ctx.bus.subscribe(topics.attackerObserved, { queueSize: 1024, signal: ctx.signal });
    void (async () => {
      for await (const ev of observed) {
        const ip = ev.payload.attacker_ip;
        if (typeof ip === 'string' && ip.length <= 45 && pendingIps.size < MAX_PENDING_IPS) pendingIps.add(ip);
        waker.poke();
      }
    })();

    const stats = { passes: 0, groups_checked: 0, detections: 0, cursor: 0 };
    ctx.health(() => ({ ...stats, pending_ips: pendingIps.size, wakeups: waker.wakeups }));
    let lastSweep = 0;

    const announce = (list: ReuseDetection[]): void => {
      for (const d of list) {
        stats.detections++;
        const r = d.row;
        try {
          ctx.bus.publish(
            topics.credentialReuseDetected,
            {
              id: r.id,
              secret_sha256: r.secret_sha256,
              secret_kind: r.secret_kind,
              principal: r.principal,
              target_count: r.target_count,
              attempt_count: r.attempt_count,
              attacker_uuids: r.attacker_uuids,
              attacker_ips: r.attacker_ips,
              deckies: r.deckies,
              services: r.services,
              new: d.isNew,
              added: d.added,
            },
            r.secret_kind,
          );
        } catch (err) {
          ctx.log.debug('bus publish failed', { err });
        }
      }
    };

    while (!ctx.signal.aborted) {
      const passStarted = Date.now();
      stats.passes++;
      const saved = await getState<{ last_credential_id?: number }>(db, REUSE_CURSOR_KEY);
      let cursor = Number.isInteger(saved?.last_credential_id) ? saved!.last_credential_id! : 0;
      // New credentials since the cursor, in chunks; each chunk and its cursor commit together.
      for (;;) {
        const { lastId, keys } = await credentialKeysAfterId(db, cursor, 5000);
        if (lastId === cursor) break;
        stats.groups_checked += keys.length;
        announce(await correlateKeys(db, keys, settings, lastId));
        cursor = lastId;
      }
      stats.cursor = cursor;
      if (pendingIps.size > 0) {
        const ips = [...pendingIps];
        pendingIps.clear();
        const keys = new Map<string, ReuseKey>();
        for (const ip of ips) for (const k of await credentialKeysForIp(db, ip).catch(() => [])) keys.set(reuseKeyOf(k), k);
        stats.groups_checked += keys.size;
        announce(await correlateKeys(db, [...keys.values()], settings));
      }
      if (Date.now() - lastSweep >= FULL_SWEEP_MS) {
        // Repeat sightings bump attempt counts without a new credential row: refresh them now and then.
        lastSweep = Date.now();
        const candidates = await findReuseCandidates(db, { minTargets, minAttackerIps: minSources >= 2 ? minSources : undefined, limit: 10_000 });
        stats.groups_checked += candidates.length;
        announce(await correlateKeys(db, candidates, settings));
      }
      await waker.wait(intervalMs, ctx.signal);
      const gap = Date.now() - passStarted;
      if (gap < MIN_PASS_GAP_MS) await sleep(MIN_PASS_GAP_MS - gap, ctx.signal);
    }
  },
});
