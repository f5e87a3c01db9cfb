// The `ttp` worker: tags every stored event with MITRE ATT&CK techniques. The logs table is the
// source of truth: the worker reads the rows after its persisted cursor, woken by bus events (the
// ingester's system.log batches, attacker.observed, credential reuse, canaries) and by a slow tick.
// Per batch, in one transaction: new tags (insert-ignore under the engine's deterministic ids), the
// per-attacker rule state that changed, the tags still waiting for their attacker row, and the
// cursor. Only rows that were really inserted are announced (ttp.tagged, ttp.rule.fired.<T>), so a
// replay or a restart announces nothing twice.
import { defineWorker, type WorkerContext } from '../../fleet/worker.ts';
import { topics } from '../../bus/topics.ts';
import { ConfigError, errorMessage } from '../../core/errors.ts';
import type { Db } from '../../db/types.ts';
import type { TagInput } from '../../db/ttp/repo.ts';
import { Waker } from '../wake.ts';
import { anchorAttackers, resolveAttackers, widen, type AnchorSpan } from './anchor.ts';
import { reviveAttackerState, type AttackerState } from './attacker-state.ts';
import { logRowToEvent, tagToInput } from './stored-tags.ts';

export const CURSOR_KEY = 'ttp.cursor';
export const PENDING_KEY = 'ttp.pending';
export const stateKey = (ip: string): string => `ttp.attacker.${ip}`;

/** Topics that may mean new rows in the logs table (or newly profiled attackers). */
export const WAKE_PATTERNS = [topics.systemLog, topics.attackerObserved, topics.credentialReuseDetected, 'canary.>'] as const;

/** Attacker states kept in memory (the rest are read back from the database when needed). */
const STATE_CACHE = 10_000;
/** Encoded size of the tags waiting for an attacker row; beyond it the oldest are anchored at once. */
const PENDING_MAX_CHARS = 512 * 1024;
/** Most tag ids listed in one ttp.tagged event. */
const MAX_IDS_PER_EVENT = 500;

/** An attacker's rule state and the last log row that changed it. */
interface StoredState {
  last: number;
  state: AttackerState;
}

function reviveStoredState(ip: string, stored: unknown): StoredState {
  const s = stored as Partial<StoredState> | undefined;
  const last = typeof s?.last === 'number' && Number.isInteger(s.last) && s.last >= 0 ? s.last : 0;
  return { last, state: reviveAttackerState(ip, s?.state) };
}

interface PendingTag {
  ip: string;
  /** When it started waiting (epoch ms). */
  since: number;
  tag: TagInput;
}

export interface TtpWorkerConfig {
  pollMs: number;
  batch: number;
  anchorWaitMs: number;
}

function numberOption(config: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number, max: number): number {
  const raw = config[key];
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ConfigError(`ttp: --${key} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export function ttpConfig(config: Readonly<Record<string, unknown>>): TtpWorkerConfig {
  return {
    pollMs: numberOption(config, 'poll-interval', 60, 0.05, 86_400) * 1000,
    batch: Math.floor(numberOption(config, 'batch', 500, 1, 10_000)),
    anchorWaitMs: numberOption(config, 'anchor-wait', 600, 0, 86_400) * 1000,
  };
}

function revivePending(stored: unknown): PendingTag[] {
  if (!Array.isArray(stored)) return [];
  return stored.filter(
    (p): p is PendingTag => !!p && typeof p === 'object' && typeof (p as PendingTag).ip === 'string' && typeof (p as PendingTag).since === 'number' && !!(p as PendingTag).tag && typeof (p as PendingTag).tag === 'object',
  );
}

export default defineWorker({
  name: 'ttp',
  summary: 'tags stored events and shell commands with MITRE ATT&CK techniques',
  async run(ctx: WorkerContext) {
    const cfg = ttpConfig(ctx.config);
    const { loadTtpEngine } = await import('./load-engine.ts');
    const { engine, problems } = await loadTtpEngine({ strict: false });
    for (const p of problems) ctx.log.warn('rule skipped', { problem: `${p.file}:${p.line}:${p.column}: ${p.message}` });
    if (engine.rules.length === 0) throw new ConfigError('ttp: no usable rule was loaded; check DECNET_TTP_RULES_DIR');

    const db = (await ctx.db()) as Db;
    const { getState, setState } = await import('../../db/state/repo.ts');
    const { logsAfterId } = await import('../../db/logs/repo.ts');
    const { insertNewTags } = await import('../../db/ttp/repo.ts');
    const { inTransaction } = await import('../../db/query.ts');

    const waker = new Waker(ctx.bus, WAKE_PATTERNS, ctx.signal);
    let cursor = Number((await getState<number>(db, CURSOR_KEY)) ?? 0);
    if (!Number.isInteger(cursor) || cursor < 0) cursor = 0;
    let pending = revivePending(await getState(db, PENDING_KEY));
    const states = new Map<string, StoredState>();
    const stats = { events: 0, tags_matched: 0, tags_inserted: 0, anchored: 0, batches: 0, errors: 0 };
    ctx.health(() => ({ cursor, pending: pending.length, rules: engine.rules.length, wakeups: waker.wakeups, ...stats }));
    ctx.log.info('tagging from the logs table', { cursor, rules: engine.rules.length, pending: pending.length });

    async function stateFor(ip: string): Promise<StoredState> {
      let entry = states.get(ip);
      if (entry) {
        states.delete(ip); // re-insert: Map order is the LRU order
      } else {
        entry = reviveStoredState(ip, await getState(db, stateKey(ip)));
        if (states.size >= STATE_CACHE) states.delete(states.keys().next().value!);
      }
      states.set(ip, entry);
      return entry;
    }

    /** One batch; returns the number of log rows read. */
    async function pass(): Promise<number> {
      const rows = await logsAfterId(db, cursor, cfg.batch);
      const now = Date.now();
      const fresh: { ip: string; tag: TagInput }[] = [];
      const dirty = new Map<string, StoredState>();
      for (const row of rows) {
        const event = logRowToEvent(row);
        if (!event) continue;
        stats.events++;
        const entry = await stateFor(event.attacker_ip);
        // A row the state has already seen (a replay after the cursor was reset) is evaluated
        // without it: counting it twice would change what the counting rules say.
        const replayed = row.id <= entry.last;
        const { tags, stateChanged } = replayed ? engine.evaluate(event) : engine.evaluate(event, entry.state);
        if (stateChanged) {
          entry.last = row.id;
          dirty.set(event.attacker_ip, entry);
        }
        const sessionId = typeof row.fields?.session_id === 'string' ? row.fields.session_id : undefined;
        for (const tag of tags) fresh.push({ ip: event.attacker_ip, tag: tagToInput(tag, { logId: row.id, sessionId }, engine.catalogue) });
      }
      stats.tags_matched += fresh.length;
      const nextCursor = rows.length > 0 ? rows[rows.length - 1]!.id : cursor;
      if (rows.length === 0 && pending.length === 0) return 0;

      const waiting = [...pending, ...fresh.map((f) => ({ ip: f.ip, since: now, tag: f.tag }))];
      const known = await resolveAttackers(db, waiting.map((w) => w.ip));
      const ready: TagInput[] = [];
      const toAnchor = new Map<string, AnchorSpan>();
      let stillWaiting: PendingTag[] = [];
      for (const w of waiting) {
        const uuid = known.get(w.ip);
        if (uuid) ready.push({ ...w.tag, attacker_uuid: uuid });
        else if (now - w.since >= cfg.anchorWaitMs) widen(toAnchor, w.ip, String(w.tag.created_at));
        else stillWaiting.push(w);
      }
      // Bound what waits: past the size limit, the oldest are anchored now rather than dropped.
      let size = stillWaiting.reduce((n, w) => n + JSON.stringify(w).length, 0);
      while (size > PENDING_MAX_CHARS && stillWaiting.length > 0) {
        const oldest = stillWaiting.shift()!;
        size -= JSON.stringify(oldest).length;
        widen(toAnchor, oldest.ip, String(oldest.tag.created_at));
      }
      if (toAnchor.size > 0) {
        // Every waiting tag of an address being anchored goes with it.
        for (const w of stillWaiting) if (toAnchor.has(w.ip)) widen(toAnchor, w.ip, String(w.tag.created_at));
      }

      // Nothing read, nothing resolved: the waiting tags keep waiting, and nothing needs writing.
      if (rows.length === 0 && ready.length === 0 && toAnchor.size === 0 && stillWaiting.length === pending.length) return 0;

      const inserted = await inTransaction(db, async (tx) => {
        if (toAnchor.size > 0) {
          const anchored = await anchorAttackers(tx, toAnchor);
          stats.anchored += anchored.size;
          for (const w of waiting) {
            const uuid = anchored.get(w.ip);
            if (uuid && !known.has(w.ip)) ready.push({ ...w.tag, attacker_uuid: uuid });
          }
          stillWaiting = stillWaiting.filter((w) => !anchored.has(w.ip));
        }
        const ids = await insertNewTags(tx, ready);
        for (const [ip, entry] of dirty) await setState(tx, stateKey(ip), { last: entry.last, state: entry.state });
        if (nextCursor !== cursor) await setState(tx, CURSOR_KEY, nextCursor);
        if (stillWaiting.length > 0 || pending.length > 0) await setState(tx, PENDING_KEY, stillWaiting);
        return ids;
      });
      cursor = nextCursor;
      pending = stillWaiting;
      stats.batches++;
      stats.tags_inserted += inserted.length;
      if (inserted.length > 0) announce(new Set(inserted), ready);
      return rows.length;
    }

    function announce(inserted: Set<string>, candidates: readonly TagInput[]): void {
      const byAttacker = new Map<string, TagInput[]>();
      for (const t of candidates) {
        if (!t.uuid || !inserted.has(t.uuid)) continue;
        inserted.delete(t.uuid); // one announcement per row, even if a tag was listed twice
        const list = byAttacker.get(t.attacker_uuid!) ?? [];
        list.push(t);
        byAttacker.set(t.attacker_uuid!, list);
      }
      for (const [attackerUuid, tags] of byAttacker) {
        const ip = (tags[0]!.evidence as { attacker_ip?: string }).attacker_ip;
        const sessions = new Set(tags.map((t) => t.session_id).filter(Boolean));
        const techniques = [...new Set(tags.map((t) => t.sub_technique_id ?? t.technique_id))].sort();
        ctx.bus.publish(topics.ttpTagged, {
          attacker_uuid: attackerUuid,
          attacker_ip: ip ?? null,
          identity_uuid: null,
          session_id: sessions.size === 1 ? [...sessions][0]! : null,
          tag_uuids: tags.slice(0, MAX_IDS_PER_EVENT).map((t) => t.uuid!),
          tag_count: tags.length,
          techniques_added: techniques,
        });
        const byParent = new Map<string, TagInput[]>();
        for (const t of tags) byParent.set(t.technique_id, [...(byParent.get(t.technique_id) ?? []), t]);
        for (const [parent, list] of byParent) {
          const best = list.reduce((a, b) => (b.confidence > a.confidence ? b : a));
          ctx.bus.publish(topics.ttpRuleFired(parent), {
            technique_id: parent,
            techniques: [...new Set(list.map((t) => t.sub_technique_id ?? t.technique_id))].sort(),
            rule_ids: [...new Set(list.map((t) => t.rule_id))].sort(),
            attacker_uuid: attackerUuid,
            attacker_ip: ip ?? null,
            decky: best.decky_id ?? null,
            confidence: best.confidence,
            tag_uuids: list.slice(0, MAX_IDS_PER_EVENT).map((t) => t.uuid!),
          });
        }
      }
    }

    while (!ctx.signal.aborted) {
      let read = 0;
      try {
        read = await pass();
      } catch (err) {
        // A database hiccup: log, count, retry on the next wake-up or tick (the cursor did not move).
        stats.errors++;
        states.clear(); // the states in memory may be ahead of the stored ones: read them again
        ctx.log.error('tagging pass failed', { error: errorMessage(err) });
        if (ctx.signal.aborted) break;
      }
      if (read >= cfg.batch) {
        await new Promise<void>((resolve) => setImmediate(resolve)); // more is waiting: keep going, but let others run
        continue;
      }
      // Tags waiting for their attacker row must not wait longer than anchor-wait for a tick.
      const nextAnchor = pending.length > 0 ? Math.max(50, Math.min(...pending.map((p) => p.since)) + cfg.anchorWaitMs - Date.now()) : Infinity;
      await waker.wait(Math.min(cfg.pollMs, nextAnchor), ctx.signal);
    }
  },
});
