// The topic catalogue: every subject DECNET publishes, with builders that reject tokens that would
// change a subject's shape. Names follow the original system (reference: data-bus-topology §2.10).
import { SubjectError } from './subject.ts';

const TOKEN_FORBIDDEN = /[.*>\s]/;

/** One token of a subject: non-empty, no '.', '*', '>' or whitespace. */
export function token(value: string, what = 'token'): string {
  if (typeof value !== 'string' || value.length === 0) throw new SubjectError(`${what} must be a non-empty string`);
  if (TOKEN_FORBIDDEN.test(value)) throw new SubjectError(`${what} ${JSON.stringify(value)} may not contain '.', '*', '>' or whitespace`);
  if (value.startsWith('$')) throw new SubjectError(`${what} ${JSON.stringify(value)} may not start with '$'`);
  return value;
}

/** A dotted leaf made of valid tokens (e.g. 'session.ended', 'motor.shell_mastery.tab_completion'). */
function leaf(value: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new SubjectError(`${what} must be a non-empty string`);
  for (const part of value.split('.')) token(part, what);
  return value;
}

export const ROOTS = ['topology', 'decky', 'attacker', 'identity', 'campaign', 'system', 'credential', 'attribution', 'orchestrator', 'canary', 'smtp', 'email', 'ttp'] as const;

export const topics = {
  // topology
  topologyMutation: (topologyId: string, stage: 'enqueued' | 'applying' | 'applied' | 'failed') => `topology.${token(topologyId, 'topology id')}.mutation.${stage}`,
  topologyStatus: (topologyId: string) => `topology.${token(topologyId, 'topology id')}.status`,

  // deckies
  decky: (name: string, kind: 'state' | 'traffic' | 'mutate_request' | 'mutation' | 'service_added' | 'service_removed' | 'service_config_changed' | 'lifecycle') =>
    `decky.${token(name, 'decky name')}.${kind}`,

  orchestrator: (kind: 'traffic' | 'file' | 'email', deckyId: string) => `orchestrator.${kind}.${token(deckyId, 'decky id')}`,

  // attackers
  attackerObserved: 'attacker.observed',
  attackerScored: 'attacker.scored',
  attackerFingerprinted: 'attacker.fingerprinted',
  attackerFingerprintRotated: 'attacker.fingerprint_rotated',
  attackerSessionStarted: 'attacker.session.started',
  attackerSessionEnded: 'attacker.session.ended',
  attackerIntelEnriched: 'attacker.intel.enriched',
  attackerObservation: (primitive: string) => `attacker.observation.${leaf(primitive, 'observation primitive')}`,

  // identities and campaigns
  identity: (kind: 'formed' | 'observation.linked' | 'merged' | 'unmerged' | 'campaign.assigned') => `identity.${kind}`,
  campaign: (kind: 'formed' | 'identity.assigned' | 'merged' | 'unmerged') => `campaign.${kind}`,

  // credentials
  credentialCaptured: 'credential.captured',
  credentialReuseDetected: 'credential.reuse.detected',

  attribution: (kind: 'profile.state_changed' | 'profile.multi_actor_suspected') => `attribution.${kind}`,

  canary: (tokenId: string, kind: 'placed' | 'triggered' | 'revoked') => `canary.${token(tokenId, 'canary token id')}.${kind}`,

  smtpProbePending: 'smtp.probe.pending',
  emailReceived: 'email.received',

  // ATT&CK tagging
  ttpTagged: 'ttp.tagged',
  ttpRuleFired: (techniqueId: string) => `ttp.rule.fired.${token(techniqueId, 'technique id')}`,
  ttpRuleSuppressed: 'ttp.rule.suppressed',
  ttpRuleReloaded: (ruleId: string) => `ttp.rule.reloaded.${token(ruleId, 'rule id')}`,
  ttpRuleState: (ruleId: string) => `ttp.rule.state.${token(ruleId, 'rule id')}`,

  // system
  systemLog: 'system.log',
  busHealth: 'system.bus.health',
  workerHealth: (worker: string) => `system.${token(worker, 'worker name')}.health`,
  workerControl: (worker: string) => `system.${token(worker, 'worker name')}.control`,
  webhookSubscriptionsChanged: 'system.webhook.subscriptions_changed',
} as const;

/** Patterns subscribers commonly use. */
export const patterns = {
  allHealth: 'system.*.health',
  allControl: 'system.*.control',
  topologyMutationsEnqueued: 'topology.*.mutation.enqueued',
  deckyMutateRequests: 'decky.*.mutate_request',
  attackerObservations: 'attacker.observation.>',
  identities: 'identity.>',
  campaigns: 'campaign.>',
  canaries: 'canary.>',
  orchestrator: 'orchestrator.>',
  attribution: 'attribution.>',
  everything: '>',
} as const;

/** Control payload sent on system.<worker>.control. */
export interface ControlPayload {
  action: 'stop' | 'restart';
  requested_by?: string;
  ts?: number;
}
