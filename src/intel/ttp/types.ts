// Shapes shared by the TTP engine, its rule loader and its exports. Types only.

/** One attacker interaction, as the engine sees it (built from a stored or live event). */
export interface TtpEvent {
  /** ISO-8601 UTC, or epoch milliseconds. */
  ts: string | number;
  decky: string;
  service: string;
  /** Event name: connect, auth_attempt, command, request, … */
  event: string;
  attacker_ip: string;
  /** The event's own fields, all strings (src_port, dst_port and secret_b64 included when known). */
  fields: Readonly<Record<string, string>>;
  /** Shell command text; `fields.command` is used when absent. */
  command?: string;
}

export interface TagEvidence {
  event: string;
  /** ISO-8601 UTC time of the event that triggered the tag. */
  ts: string;
  /** The command line, request line or a short summary of the event (bounded). */
  text: string;
  /** The simple command or value the rule matched, when narrower than `text` (bounded). */
  matched?: string;
  /** Selected event fields, bounded; never secrets. */
  fields: Record<string, string>;
  /** For rules that count events over a window. */
  aggregate?: { count: number; window_s: number; first_ts: string };
  /** What makes this tag unique for its rule and attacker (part of the id). */
  key: string;
}

export interface TtpTag {
  /** UUIDv5 of (rule_id, attacker_ip, evidence.key): replaying the same events yields the same ids. */
  id: string;
  technique_id: string;
  technique_name: string;
  /** The technique itself when it is not a sub-technique. */
  parent_technique: string;
  /** Tactic shortnames (kill-chain phases), e.g. ['defense-evasion']. */
  tactics: string[];
  rule_id: string;
  rule_version: number;
  /** 0..1 */
  confidence: number;
  attacker_ip: string;
  decky: string;
  service: string;
  /** ISO-8601 UTC, the triggering event's time. */
  ts: string;
  attack_version: string;
  evidence: TagEvidence;
}
