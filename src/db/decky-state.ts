// The states a deployed decky goes through; shared by fleet deckies, swarm shards and topology
// deckies (a tiny module so no domain loads another's schema for it).
export const DECKY_STATES = ['pending', 'running', 'failed', 'torn_down', 'degraded', 'tearing_down', 'teardown_failed'] as const;
export type DeckyState = (typeof DECKY_STATES)[number];
