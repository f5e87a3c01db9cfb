// The small per-attacker memory that stateful rules need (brute force, spraying, scans): recent
// authentication outcomes and, per counting rule, the recent matching events. The caller keeps one
// object per attacker IP and persists it between events (it is plain JSON); everything in it is
// bounded, and it never holds a secret: passwords are reduced to a short hash before they get here.
import { hash } from 'node:crypto';

export const STATE_VERSION = 1;
/** Recent auth outcomes kept per attacker. */
export const AUTH_RING = 64;
/** Entries kept per counting rule; a rule's threshold may not exceed AGG_RING / 2. */
export const AGG_RING = 128;
/** Distinct "fired" keys remembered per counting rule. */
const FIRED_KEYS = 8;
/** Longest window a counting rule may use (one day). */
export const MAX_WINDOW_S = 86_400;

/** [time ms, 1 = success / 0 = failure] */
export type AuthEntry = [number, number];
/** [time ms, counted key, group key] */
export type AggEntry = [number, string, string];

export interface AggMemory {
  e: AggEntry[];
  /** Keys (UTC day, maybe service) this rule already fired for. */
  f: string[];
}

export interface AttackerState {
  v: typeof STATE_VERSION;
  ip: string;
  auth: AuthEntry[];
  agg: Record<string, AggMemory>;
}

export function createAttackerState(ip: string): AttackerState {
  return { v: STATE_VERSION, ip, auth: [], agg: Object.create(null) as Record<string, AggMemory> };
}

/** Accepts a state read back from storage; returns a fresh one when it is missing or malformed. */
export function reviveAttackerState(ip: string, stored: unknown): AttackerState {
  const s = stored as AttackerState | null | undefined;
  if (!s || typeof s !== 'object' || s.v !== STATE_VERSION || s.ip !== ip || !Array.isArray(s.auth) || !s.agg || typeof s.agg !== 'object') {
    return createAttackerState(ip);
  }
  const agg = Object.create(null) as Record<string, AggMemory>;
  for (const [rule, mem] of Object.entries(s.agg)) {
    if (mem && Array.isArray(mem.e) && Array.isArray(mem.f)) {
      agg[rule] = { e: mem.e.filter(isAggEntry).slice(-AGG_RING), f: mem.f.filter((x) => typeof x === 'string').slice(-FIRED_KEYS) };
    }
  }
  const auth = s.auth.filter((a): a is AuthEntry => Array.isArray(a) && typeof a[0] === 'number' && (a[1] === 0 || a[1] === 1)).slice(-AUTH_RING);
  return { v: STATE_VERSION, ip, auth, agg };
}

function isAggEntry(x: unknown): x is AggEntry {
  return Array.isArray(x) && typeof x[0] === 'number' && typeof x[1] === 'string' && typeof x[2] === 'string';
}

export function recordAuth(state: AttackerState, tMs: number, success: boolean): void {
  state.auth.push([tMs, success ? 1 : 0]);
  if (state.auth.length > AUTH_RING) state.auth.splice(0, state.auth.length - AUTH_RING);
}

/** Failures recorded in [tMs - windowMs, tMs]. */
export function failuresWithin(state: AttackerState, tMs: number, windowMs: number): number {
  let n = 0;
  for (const [t, ok] of state.auth) if (ok === 0 && t <= tMs && t >= tMs - windowMs) n++;
  return n;
}

function memory(state: AttackerState, ruleId: string): AggMemory {
  let mem = state.agg[ruleId];
  if (!mem) {
    mem = { e: [], f: [] };
    state.agg[ruleId] = mem;
  }
  return mem;
}

/**
 * Records one event for a counting rule and, when `count` is set, returns how many entries fall in
 * the window (and the time of the oldest). With `distinct`, an entry with the same key and group
 * replaces the older one, so the count is the number of distinct keys; `group` restricts counting to
 * entries of that group. Entries stay in arrival order, so the count walks back from the newest and
 * stops at the first entry older than the window.
 */
export function countForRule(
  state: AttackerState,
  ruleId: string,
  tMs: number,
  windowMs: number,
  key: string,
  group: string,
  distinct: boolean,
  count = true,
): { count: number; firstMs: number } {
  const mem = memory(state, ruleId);
  const entries = mem.e;
  if (distinct) {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e[1] === key && e[2] === group) {
        entries.splice(i, 1);
        break;
      }
    }
  }
  entries.push([tMs, key, group]);
  // Drop what no window can need any more, then enforce the size bound.
  const horizon = tMs - MAX_WINDOW_S * 1000;
  let drop = 0;
  while (drop < entries.length && entries[drop]![0] < horizon) drop++;
  if (entries.length - drop > AGG_RING) drop = entries.length - AGG_RING;
  if (drop > 0) entries.splice(0, drop);
  if (!count) return { count: 0, firstMs: tMs };
  let n = 0;
  let firstMs = tMs;
  const start = tMs - windowMs;
  for (let i = entries.length - 1; i >= 0; i--) {
    const [t, , g] = entries[i]!;
    if (t < start) break;
    if (g === group && t <= tMs) {
      n++;
      if (t < firstMs) firstMs = t;
    }
  }
  return { count: n, firstMs };
}

/** True when the rule already fired for `key` (a UTC day, maybe with a service). */
export function hasFired(state: AttackerState, ruleId: string, key: string): boolean {
  return state.agg[ruleId]?.f.includes(key) ?? false;
}

/** True the first time `key` is claimed for the rule; remembers a few recent keys. */
export function claimFire(state: AttackerState, ruleId: string, key: string): boolean {
  const mem = memory(state, ruleId);
  if (mem.f.includes(key)) return false;
  mem.f.push(key);
  if (mem.f.length > FIRED_KEYS) mem.f.splice(0, mem.f.length - FIRED_KEYS);
  return true;
}

/** A short, non-reversible stand-in for a secret or a long key (12 base64url chars of SHA-256). */
export function shortHash(value: string): string {
  return hash('sha256', value, 'base64url').slice(0, 12);
}
