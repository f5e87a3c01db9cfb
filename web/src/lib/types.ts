// Shapes of the API's answers, as the dashboard uses them (GET /api/v1/openapi.json is the full
// contract). Members the pages do not read are left out.

export interface LogRow {
  id: number;
  ts: string;
  decky: string | null;
  service: string | null;
  event_type: string | null;
  attacker_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  fields: Record<string, unknown>;
  msg: string | null;
  raw_line: string | null;
  truncated?: boolean;
}

export interface Attacker {
  uuid: string;
  ip: string;
  identity_id: string | null;
  first_seen: string;
  last_seen: string;
  event_count: number;
  service_count: number;
  decky_count: number;
  bounty_count: number;
  credential_count: number;
  services: string[];
  deckies: string[];
  country_code: string | null;
  asn: number | null;
  as_name: string | null;
  ptr_record: string | null;
  is_traversal: boolean;
  command_count?: number;
  fingerprint_count?: number;
}

export interface Behavior {
  os_guess?: string | null;
  hop_distance?: number | null;
  behavior_class?: string | null;
  beacon_interval_s?: number | null;
  beacon_jitter_pct?: number | null;
  tool_guesses?: string[] | null;
  ssh_client_banners?: string[] | null;
  timing_stats?: Record<string, unknown> | null;
  phase_sequence?: unknown[] | null;
  retransmit_count?: number | null;
  tcp_fingerprint?: Record<string, unknown> | null;
}

export interface Intel {
  aggregate_verdict?: string | null;
  greynoise_classification?: string | null;
  greynoise_name?: string | null;
  abuseipdb_score?: number | null;
  feodo_listed?: boolean | null;
  feodo_malware_family?: string | null;
  threatfox_listed?: boolean | null;
  cached_at?: string | null;
}

export interface TechniqueRow {
  technique_id: string;
  technique_name?: string | null;
  sub_technique_id: string | null;
  sub_technique_name?: string | null;
  tactic: string | null;
  tactics?: string[] | null;
  count: number;
  attackers?: number;
  max_confidence?: number;
  first_seen?: string;
  last_seen: string;
}

export interface AttackerDetail extends Attacker {
  fingerprints?: unknown[];
  commands?: unknown[];
  traversal_path?: string | null;
  asn_source?: string | null;
  country_source?: string | null;
  bgp_prefix?: string | null;
  rotation_count?: number;
  behavior: Behavior | null;
  intel: Intel | null;
  techniques: TechniqueRow[] | null;
}

export interface Command {
  service: string;
  decky: string;
  command: string;
  timestamp: string;
}

export interface Credential {
  id: number;
  attacker_ip: string;
  attacker_uuid: string | null;
  decky_name: string;
  service: string;
  principal: string | null;
  secret_kind: string;
  secret_sha256: string;
  secret_b64: string;
  secret_printable: string | null;
  outcome: 'success' | 'failure' | 'observed';
  first_seen: string;
  last_seen: string;
  attempt_count: number;
}

export interface ReuseRow {
  id: string;
  secret_sha256: string;
  secret_kind: string;
  principal: string | null;
  attacker_ips: string[];
  deckies: string[];
  services: string[];
  target_count: number;
  attempt_count: number;
  first_seen: string;
  last_seen: string;
}

export interface WorkerView {
  name: string;
  summary: string | null;
  group: string | null;
  known: boolean;
  status: 'ok' | 'stale' | 'unknown';
  state: string | null;
  process: string | null;
  hostname: string | null;
  pid: number | null;
  last_heartbeat_ts: number | null;
  seconds_since: number | null;
  uptime_s: number | null;
  restarts: number | null;
  last_error: string | null;
  drops: number | null;
  host_pss_kb: number | null;
  el_delay_p99_ms: number | null;
}

export interface ProcessView {
  name: string;
  pid: number;
  alive: boolean;
  role: string;
  workers: string[];
  pss_kb: number | null;
  pss_anon_kb: number | null;
  uss_kb: number | null;
  rss_kb: number | null;
  el_delay_p99_ms: number | null;
  updated_at: number;
}

export interface WorkersSnapshot {
  generated_at: string;
  bus_connected: boolean;
  workers: WorkerView[];
  processes: ProcessView[];
}

export interface Webhook {
  uuid: string;
  name: string;
  url: string;
  topic_patterns: string[];
  enabled: boolean;
  allow_private?: boolean;
  rate_per_minute?: number | null;
  consecutive_failures: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
  auto_disabled_at: string | null;
  created_at: string;
  warnings?: string[];
}

export interface Stats {
  total_logs: number;
  unique_attackers: number;
  attacker_profiles?: number;
  deckies_hit?: number;
  active_deckies: number;
  deployed_deckies: number;
}
