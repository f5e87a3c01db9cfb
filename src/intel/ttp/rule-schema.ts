// The validated form of a TTP rule: what the loader produces and the engine compiles. Rule files
// are documented in rules/ttp/README.md.

export type Condition =
  | { kind: 'event_is'; events: ReadonlySet<string> }
  | { kind: 'service_in'; services: ReadonlySet<string> }
  | { kind: 'field_equals'; field: string; values: ReadonlySet<string> }
  | { kind: 'field_matches'; field: string; re: RegExp }
  | { kind: 'field_present'; fields: readonly string[] }
  | { kind: 'any_field_matches'; re: RegExp }
  | { kind: 'command_matches'; re: RegExp }
  /** A program run by the command line, by base name or by a regex over the word as written, with optional arguments. */
  | { kind: 'program'; names?: ReadonlySet<string>; nameRe?: RegExp; argsRe?: RegExp }
  | { kind: 'url_matches'; re: RegExp }
  | { kind: 'auth_outcome'; success: boolean }
  | { kind: 'auth_success_after_failures'; atLeast: number; windowMs: number }
  | { kind: 'any'; of: readonly (readonly Condition[])[] }
  | { kind: 'not'; of: readonly Condition[] };

/** Counting predicates: the rule fires once per attacker and UTC day when the count reaches the threshold. */
export type Aggregate =
  | { kind: 'auth_failures_from_ip'; atLeast: number; windowMs: number; perService: boolean }
  | { kind: 'distinct_from_ip'; count: string; same?: string; atLeast: number; windowMs: number };

/** A test case written next to the rule: one event, or a sequence for counting rules. */
export interface ExampleEvent {
  ts?: string | number;
  decky?: string;
  service?: string;
  event?: string;
  attacker_ip?: string;
  command?: string;
  fields?: Record<string, string>;
  /** A captured secret (becomes `fields.secret_b64`); `{i}` works here too. */
  secret?: string;
  /** Send the event this many times; `{i}` in field values becomes the repetition index. */
  repeat?: number;
  /** Seconds between repetitions (default 1). */
  step_s?: number;
}

export type RuleExample = string | ExampleEvent | { sequence: (string | ExampleEvent)[] };

export interface RuleSource {
  file: string;
  line: number;
  column: number;
}

export interface RuleDefinition {
  id: string;
  version: number;
  name: string;
  description: string;
  technique: string;
  /** Tactic shortnames reported on tags: a subset of the technique's (all of them by default). */
  tactics: readonly string[];
  confidence: number;
  caseSensitive: boolean;
  conditions: readonly Condition[];
  aggregate?: Aggregate;
  /** Fields copied into evidence; undefined = the default selection. */
  evidenceFields?: readonly string[];
  /** Event names from a top-level `event_is`, used to index rules; null = any event. */
  events: readonly string[] | null;
  source: RuleSource;
  examples: { match: readonly RuleExample[]; no_match: readonly RuleExample[] };
  /** Defaults of the rule's file, used to fill in examples. */
  exampleDefaults: { event?: string; service?: string };
}
