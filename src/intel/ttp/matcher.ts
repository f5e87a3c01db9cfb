// Runs an engine over a stream of events, keeping each attacker's state in a bounded LRU map:
// what a replay (`decnet ttp backfill`) or a benchmark needs. A long-running worker that persists
// states in the database can call engine.evaluate() directly instead.
import type { TtpEngine } from './engine.ts';
import type { TtpEvent, TtpTag } from './types.ts';
import { createAttackerState, type AttackerState } from './attacker-state.ts';

export interface TtpMatcher {
  match(event: TtpEvent): TtpTag[];
  stateOf(ip: string): AttackerState | undefined;
  /** Attackers whose state is held (at most maxAttackers). */
  readonly attackers: number;
}

export function createMatcher(engine: TtpEngine, opts: { maxAttackers?: number } = {}): TtpMatcher {
  const max = opts.maxAttackers ?? 10_000;
  if (!Number.isInteger(max) || max < 1) throw new Error('maxAttackers must be a whole number of at least 1');
  const states = new Map<string, AttackerState>();
  return {
    match(event) {
      const ip = event.attacker_ip;
      let state = states.get(ip);
      if (state) {
        states.delete(ip); // re-insert: Map order is the LRU order
      } else {
        state = createAttackerState(ip);
        if (states.size >= max) states.delete(states.keys().next().value!);
      }
      states.set(ip, state);
      return engine.evaluate(event, state).tags;
    },
    stateOf: (ip) => states.get(ip),
    get attackers() {
      return states.size;
    },
  };
}
