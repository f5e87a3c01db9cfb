// Kill-chain phases of an attacker's events: which stage each event type belongs to, and per phase
// when it was first and last seen and how often. The sequence, ordered by first sighting, shows
// how far an attacker got (reconnaissance → credential access → execution → …).

export type Phase = 'reconnaissance' | 'credential_access' | 'execution' | 'persistence' | 'delivery' | 'collection' | 'lateral_movement';

const PHASE_OF: Readonly<Record<string, Phase>> = {
  connect: 'reconnaissance',
  scan: 'reconnaissance',
  probe: 'reconnaissance',
  banner: 'reconnaissance',
  client_hello: 'reconnaissance',
  tls_hello: 'reconnaissance',
  hello: 'reconnaissance',
  handshake: 'reconnaissance',
  negotiate: 'reconnaissance',
  prelogin: 'reconnaissance',
  client_info: 'reconnaissance',
  security_choice: 'reconnaissance',
  session_request: 'reconnaissance',
  request: 'reconnaissance',
  query: 'reconnaissance',
  search: 'reconnaissance',
  zone_transfer: 'reconnaissance',
  auth_attempt: 'credential_access',
  auth_blocked: 'credential_access',
  password_change: 'credential_access',
  command: 'execution',
  exec: 'execution',
  shell_input: 'execution',
  sftp_request: 'execution',
  container_create: 'execution',
  container_start: 'execution',
  pod_create: 'execution',
  persistence: 'persistence',
  config_set: 'persistence',
  file_upload: 'delivery',
  payload: 'delivery',
  write: 'delivery',
  package_install: 'delivery',
  image_pull: 'delivery',
  image_build: 'delivery',
  file_download: 'collection',
  download: 'collection',
  mail_read: 'collection',
  outbound_connect: 'lateral_movement',
  tunnel_request: 'lateral_movement',
  relay_attempt: 'lateral_movement',
  connect_request: 'lateral_movement',
};

export function phaseOf(eventType: string): Phase | null {
  return PHASE_OF[eventType] ?? null;
}

export interface PhaseEntry {
  phase: Phase;
  first_seen: string;
  last_seen: string;
  count: number;
}

const PHASES = new Set<string>(Object.values(PHASE_OF));

export function revivePhases(stored: unknown): PhaseEntry[] {
  if (!Array.isArray(stored)) return [];
  return stored.filter(
    (e): e is PhaseEntry =>
      e !== null && typeof e === 'object' && PHASES.has((e as PhaseEntry).phase) && typeof (e as PhaseEntry).first_seen === 'string' && typeof (e as PhaseEntry).last_seen === 'string' && Number.isInteger((e as PhaseEntry).count),
  );
}

/** Adds events (type and time) to a phase sequence; returns the new sequence ordered by first sighting. */
export function addPhases(prev: readonly PhaseEntry[], events: readonly { event_type: string; ts: string }[]): PhaseEntry[] {
  const byPhase = new Map(prev.map((e) => [e.phase, { ...e }]));
  for (const ev of events) {
    const phase = phaseOf(ev.event_type);
    if (!phase) continue;
    const e = byPhase.get(phase);
    if (!e) byPhase.set(phase, { phase, first_seen: ev.ts, last_seen: ev.ts, count: 1 });
    else {
      e.count++;
      if (ev.ts < e.first_seen) e.first_seen = ev.ts;
      if (ev.ts > e.last_seen) e.last_seen = ev.ts;
    }
  }
  return [...byPhase.values()].sort((a, b) => (a.first_seen < b.first_seen ? -1 : a.first_seen > b.first_seen ? 1 : 0));
}

export function phaseCount(seq: readonly PhaseEntry[], phase: Phase): number {
  return seq.find((e) => e.phase === phase)?.count ?? 0;
}
