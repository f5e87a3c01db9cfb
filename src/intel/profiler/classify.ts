// The behaviour class of an attacker, from what it did (phase counts) and how its events were
// spaced in time (timing.ts). Content first, because it is the stronger evidence: an address that
// ran shell commands is interactive however fast it typed; one that kept guessing passwords is
// brute forcing. Timing decides the rest (scans, beacons). Deterministic and cheap: the profiler
// runs it on every update.

export type BehaviorClass = 'beaconing' | 'interactive' | 'scanning' | 'brute_force' | 'slow_scan' | 'mixed' | 'unknown';

export interface ClassifyInput {
  events: number;
  services: number;
  deckies: number;
  meanIatS: number | null;
  cv: number | null;
  /** Events per kill-chain phase. */
  recon: number;
  auth: number;
  execution: number;
}

export function classify(x: ClassifyInput): BehaviorClass {
  const { events: n, services: s, meanIatS: mean, cv } = x;
  if (n < 3 || mean === null) return 'unknown';
  if (x.execution >= 3) return 'interactive';
  if (x.auth >= 5) return 'brute_force';
  // Touching many deckies without logging in or running anything: a sweep.
  if (x.deckies >= 3 && x.auth === 0 && x.execution === 0) return mean >= 10 ? 'slow_scan' : 'scanning';
  if (s >= 2 && mean >= 10 && n >= 4) return 'slow_scan';
  if ((s >= 3 && mean < 10) || (s >= 2 && mean < 2)) return 'scanning';
  if (s === 1 && n >= 8 && mean < 5 && cv !== null && cv < 0.6 && x.auth > 0) return 'brute_force';
  if (cv !== null && cv < 0.35 && mean >= 5 && n >= 4) return 'beaconing';
  if (cv !== null && cv >= 0.5 && mean < 5 && n >= 6 && x.execution > 0) return 'interactive';
  return 'mixed';
}
