// Reads rule files (rules/ttp/*.json), validates every rule and reports each problem as
// `file:line:column: rule "id": what is wrong and how to fix it`. Techniques must exist (and not be
// deprecated) in the ATT&CK catalogue; regexes are checked for catastrophic shapes and compiled once.
// The format is described in rules/ttp/README.md.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AttackCatalogue } from './catalogue.ts';
import { TECHNIQUE_ID } from './catalogue.ts';
import { JsonSyntaxError, parseJsonWithPositions, type ParsedJson, type Position } from './json-positions.ts';
import { compileRulePattern } from './regex-guard.ts';
import { AGG_RING, MAX_WINDOW_S } from './attacker-state.ts';
import type { Aggregate, Condition, ExampleEvent, RuleDefinition, RuleExample } from './rule-schema.ts';

/** Rule files: lower-case names ending in .json; anything else (README, editor swap files) is ignored. */
export const RULE_FILE = /^[a-z0-9][a-z0-9_-]*\.json$/;
const RULE_ID = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const NAME_TOKEN = /^[a-z][a-z0-9_]{0,31}$/;
const FIELD_NAME = /^[a-z0-9_]{1,32}$/;
const MAX_RULES_PER_FILE = 500;
const MAX_EXAMPLE_REPEAT = 200;

/** Services the decoys implement (kept in step with src/deckies/catalog.ts by a test). */
export const KNOWN_SERVICES: ReadonlySet<string> = new Set([
  'ssh', 'telnet', 'http', 'https', 'ftp', 'smtp', 'pop3', 'imap', 'mysql', 'postgres', 'mssql', 'mongodb', 'redis',
  'elasticsearch', 'docker_api', 'k8s', 'rdp', 'smb', 'vnc', 'snmp', 'sip', 'mqtt', 'tftp', 'ldap', 'llmnr', 'mdns',
  'dns', 'modbus',
]);

/** Keys `distinct_from_ip` can count besides plain field names. */
export const DERIVED_KEYS: ReadonlySet<string> = new Set(['username', 'secret', 'target', 'path', 'decky', 'service']);

const RULE_KEYS = new Set(['id', 'version', 'name', 'description', 'technique', 'tactics', 'confidence', 'case_sensitive', 'enabled', 'when', 'evidence_fields', 'examples']);
const FILE_KEYS = new Set(['description', 'defaults', 'rules']);
const DEFAULT_KEYS = new Set(['event_is', 'service_in']);
const EXAMPLE_KEYS = new Set(['ts', 'decky', 'service', 'event', 'attacker_ip', 'command', 'fields', 'secret', 'repeat', 'step_s']);
const AGGREGATES = new Set(['auth_failures_from_ip', 'distinct_from_ip']);

export interface RuleProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export function formatProblem(p: RuleProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

export class RuleFileError extends Error {
  readonly problems: readonly RuleProblem[];
  constructor(problems: readonly RuleProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in TTP rules:\n` + problems.map((p) => '  ' + formatProblem(p)).join('\n'));
    this.name = 'RuleFileError';
    this.problems = problems;
  }
}

export interface RuleSet {
  rules: RuleDefinition[];
  problems: RuleProblem[];
  files: string[];
}

/** Thrown inside validation; carries the position of the offending value. */
class Invalid extends Error {
  readonly pos: Position | undefined;
  constructor(message: string, pos: Position | undefined) {
    super(message);
    this.pos = pos;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validation of one file's parsed JSON, with positions for messages. */
class FileValidator {
  private readonly parsed: ParsedJson;
  private readonly catalogue: AttackCatalogue;
  private readonly file: string;
  caseSensitive = false;

  constructor(parsed: ParsedJson, catalogue: AttackCatalogue, file: string) {
    this.parsed = parsed;
    this.catalogue = catalogue;
    this.file = file;
  }

  /** Position lookups for objects built here (a rule's `when` merged with the file's defaults). */
  private readonly redirect = new WeakMap<object, (key: string | number) => Position | undefined>();

  at(container: object, key: string | number): Position | undefined {
    const redirected = this.redirect.get(container);
    return redirected ? redirected(key) : this.parsed.positionIn(container, key);
  }

  fail(container: object, key: string | number, message: string): never {
    throw new Invalid(message, this.at(container, key));
  }

  str(o: Obj, key: string, required: boolean, max = 2000): string | undefined {
    const v = o[key];
    if (v === undefined) {
      if (required) this.fail(o, key, `"${key}" is required`);
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') this.fail(o, key, `"${key}" must be a non-empty string`);
    if ((v as string).length > max) this.fail(o, key, `"${key}" is longer than ${max} characters`);
    return v as string;
  }

  strList(o: Obj, key: string, pattern: RegExp, what: string, allowSingle = true): string[] {
    let v = o[key];
    if (typeof v === 'string' && allowSingle) v = [v];
    if (!Array.isArray(v) || v.length === 0) this.fail(o, key, `"${key}" must be a non-empty list of ${what}`);
    const list = v as unknown[];
    list.forEach((x, n) => {
      if (typeof x !== 'string' || !pattern.test(x)) {
        throw new Invalid(`"${key}" item ${JSON.stringify(x)} is not a valid ${what}`, Array.isArray(o[key]) ? this.at(o[key] as unknown[], n) : this.at(o, key));
      }
    });
    return list as string[];
  }

  regex(container: object, key: string | number, value: unknown): RegExp {
    if (typeof value !== 'string') this.fail(container, key, 'a pattern must be a string (a JavaScript regular expression)');
    try {
      return compileRulePattern(value as string, this.caseSensitive);
    } catch (err) {
      return this.fail(container, key, `bad pattern ${JSON.stringify(value)}: ${(err as Error).message}`);
    }
  }

  window(o: Obj, key: string): { atLeast: number; windowMs: number } {
    const spec = o[key];
    if (!isObj(spec)) this.fail(o, key, `"${key}" must be an object like {"at_least": 5, "within_s": 300}`);
    const s = spec as Obj;
    const atLeast = s.at_least;
    const within = s.within_s;
    if (!Number.isInteger(atLeast) || (atLeast as number) < 1 || (atLeast as number) > AGG_RING / 2) {
      this.fail(s, 'at_least', `"at_least" must be a whole number from 1 to ${AGG_RING / 2}`);
    }
    if (typeof within !== 'number' || !Number.isFinite(within) || within <= 0 || within > MAX_WINDOW_S) {
      this.fail(s, 'within_s', `"within_s" must be a number of seconds above 0 and at most ${MAX_WINDOW_S}`);
    }
    return { atLeast: atLeast as number, windowMs: Math.round((within as number) * 1000) };
  }

  /** Validates a `when` object into conditions (AND) and at most one counting predicate. */
  when(o: Obj, topLevel: boolean): { conditions: Condition[]; aggregate?: Aggregate } {
    const conditions: Condition[] = [];
    let aggregate: Aggregate | undefined;
    const keys = Object.keys(o);
    if (keys.length === 0) this.fail(o, 0, 'an empty condition matches every event; name at least one predicate');
    const hasProgram = 'program' in o || 'program_matches' in o;
    for (const key of keys) {
      const v = o[key];
      switch (key) {
        case 'event_is':
          conditions.push({ kind: 'event_is', events: new Set(this.strList(o, key, NAME_TOKEN, 'event name')) });
          break;
        case 'service_in': {
          const services = this.strList(o, key, NAME_TOKEN, 'service name');
          services.forEach((s, n) => {
            if (!KNOWN_SERVICES.has(s)) throw new Invalid(`unknown service "${s}" (known: ${[...KNOWN_SERVICES].join(', ')})`, Array.isArray(v) ? this.at(v, n) : this.at(o, key));
          });
          conditions.push({ kind: 'service_in', services: new Set(services) });
          break;
        }
        case 'field_equals': {
          if (!isObj(v) || Object.keys(v).length === 0) this.fail(o, key, '"field_equals" must be an object of field name → value or list of values');
          for (const [field, want] of Object.entries(v as Obj)) {
            if (!FIELD_NAME.test(field)) this.fail(v as Obj, field, `"${field}" is not a field name ([a-z0-9_]{1,32})`);
            const values = typeof want === 'string' ? [want] : want;
            if (!Array.isArray(values) || values.length === 0 || !values.every((x) => typeof x === 'string')) {
              this.fail(v as Obj, field, `the value for "${field}" must be a string or a non-empty list of strings`);
            }
            conditions.push({ kind: 'field_equals', field, values: new Set((values as string[]).map((x) => x.toLowerCase())) });
          }
          break;
        }
        case 'field_matches': {
          if (!isObj(v) || Object.keys(v).length === 0) this.fail(o, key, '"field_matches" must be an object of field name → pattern');
          for (const [field, pattern] of Object.entries(v as Obj)) {
            if (!FIELD_NAME.test(field)) this.fail(v as Obj, field, `"${field}" is not a field name ([a-z0-9_]{1,32})`);
            conditions.push({ kind: 'field_matches', field, re: this.regex(v as Obj, field, pattern) });
          }
          break;
        }
        case 'field_present':
          conditions.push({ kind: 'field_present', fields: this.strList(o, key, FIELD_NAME, 'field name') });
          break;
        case 'any_field_matches':
          conditions.push({ kind: 'any_field_matches', re: this.regex(o, key, v) });
          break;
        case 'command_matches':
          conditions.push({ kind: 'command_matches', re: this.regex(o, key, v) });
          break;
        case 'url_matches':
          conditions.push({ kind: 'url_matches', re: this.regex(o, key, v) });
          break;
        case 'program':
        case 'program_matches':
        case 'args_match':
          break; // combined below, so that the arguments belong to the program that matched
        case 'auth_outcome':
          if (v !== 'success' && v !== 'failure') this.fail(o, key, '"auth_outcome" must be "success" or "failure"');
          conditions.push({ kind: 'auth_outcome', success: v === 'success' });
          break;
        case 'auth_success_after_failures':
          conditions.push({ kind: 'auth_success_after_failures', ...this.window(o, key) });
          break;
        case 'auth_failures_from_ip':
        case 'distinct_from_ip': {
          if (!topLevel) this.fail(o, key, `"${key}" counts events for the whole rule; use it at the top level of "when", not inside "any" or "not"`);
          if (aggregate) this.fail(o, key, `a rule may use only one counting predicate (${[...AGGREGATES].join(' or ')})`);
          const w = this.window(o, key);
          const spec = v as Obj;
          if (key === 'auth_failures_from_ip') {
            for (const k of Object.keys(spec)) if (!['at_least', 'within_s', 'per_service'].includes(k)) this.fail(spec, k, `unknown key "${k}" in "auth_failures_from_ip" (at_least, within_s, per_service)`);
            if (spec.per_service !== undefined && typeof spec.per_service !== 'boolean') this.fail(spec, 'per_service', '"per_service" must be true or false');
            aggregate = { kind: 'auth_failures_from_ip', ...w, perService: spec.per_service === true };
          } else {
            for (const k of Object.keys(spec)) if (!['at_least', 'within_s', 'count', 'same'].includes(k)) this.fail(spec, k, `unknown key "${k}" in "distinct_from_ip" (count, same, at_least, within_s)`);
            const count = spec.count;
            const same = spec.same;
            if (typeof count !== 'string' || !(DERIVED_KEYS.has(count) || FIELD_NAME.test(count))) {
              this.fail(spec, 'count', `"count" must be a field name or one of ${[...DERIVED_KEYS].join(', ')}`);
            }
            if (same !== undefined && (typeof same !== 'string' || !(DERIVED_KEYS.has(same) || FIELD_NAME.test(same)) || same === count)) {
              this.fail(spec, 'same', '"same" must be a field name or derived key other than "count"');
            }
            aggregate = { kind: 'distinct_from_ip', ...w, count: count as string, same: same as string | undefined };
          }
          break;
        }
        case 'any': {
          if (!Array.isArray(v) || v.length < 2) this.fail(o, key, '"any" must be a list of at least two condition objects');
          const of = (v as unknown[]).map((alt, n) => {
            if (!isObj(alt)) throw new Invalid('each "any" alternative must be a condition object', this.at(v as unknown[], n));
            return this.when(alt, false).conditions;
          });
          conditions.push({ kind: 'any', of });
          break;
        }
        case 'not': {
          if (!isObj(v)) this.fail(o, key, '"not" must be a condition object');
          conditions.push({ kind: 'not', of: this.when(v as Obj, false).conditions });
          break;
        }
        default:
          this.fail(o, key, `unknown predicate "${key}" (see rules/ttp/README.md for the list)`);
      }
    }
    if ('args_match' in o && !hasProgram) this.fail(o, 'args_match', '"args_match" needs "program" or "program_matches" in the same condition');
    if (hasProgram) {
      if ('program' in o && 'program_matches' in o) this.fail(o, 'program_matches', 'use either "program" or "program_matches", not both');
      const names = 'program' in o ? new Set(this.strList(o, 'program', /^[^\s/]{1,64}$/, 'program base name (no path, no spaces)')) : undefined;
      const nameRe = 'program_matches' in o ? this.regex(o, 'program_matches', o.program_matches) : undefined;
      const argsRe = 'args_match' in o ? this.regex(o, 'args_match', o.args_match) : undefined;
      conditions.push({ kind: 'program', names, nameRe, argsRe });
    }
    return { conditions, aggregate };
  }

  example(container: object, key: string | number, value: unknown, allowSequence: boolean): RuleExample {
    if (typeof value === 'string') {
      if (value.length === 0) this.fail(container, key, 'an example command must not be empty');
      return value;
    }
    if (!isObj(value)) return this.fail(container, key, 'an example is a command string, an event object or {"sequence": [...]}');
    if ('sequence' in value) {
      if (!allowSequence) this.fail(container, key, 'sequences cannot be nested');
      const seq = value.sequence;
      if (!Array.isArray(seq) || seq.length === 0) this.fail(value, 'sequence', '"sequence" must be a non-empty list of examples');
      return { sequence: (seq as unknown[]).map((x, n) => this.example(seq as unknown[], n, x, false) as string | ExampleEvent) };
    }
    for (const k of Object.keys(value)) if (!EXAMPLE_KEYS.has(k)) this.fail(value, k, `unknown example key "${k}" (${[...EXAMPLE_KEYS].join(', ')})`);
    if (value.fields !== undefined) {
      if (!isObj(value.fields)) this.fail(value, 'fields', '"fields" must be an object of strings');
      for (const [k, fv] of Object.entries(value.fields as Obj)) if (typeof fv !== 'string') this.fail(value.fields as Obj, k, 'example field values must be strings');
    }
    if (value.repeat !== undefined && (!Number.isInteger(value.repeat) || (value.repeat as number) < 1 || (value.repeat as number) > MAX_EXAMPLE_REPEAT)) {
      this.fail(value, 'repeat', `"repeat" must be a whole number from 1 to ${MAX_EXAMPLE_REPEAT}`);
    }
    if (value.step_s !== undefined && (typeof value.step_s !== 'number' || value.step_s < 0)) this.fail(value, 'step_s', '"step_s" must be a number of seconds');
    for (const k of ['decky', 'service', 'event', 'attacker_ip', 'command', 'secret'] as const) {
      if (value[k] !== undefined && typeof value[k] !== 'string') this.fail(value, k, `"${k}" must be a string`);
    }
    return value as ExampleEvent;
  }

  rule(o: Obj, defaults: Obj | undefined, fileDefaults: { event?: string; service?: string }): RuleDefinition | null {
    for (const k of Object.keys(o)) if (!RULE_KEYS.has(k)) this.fail(o, k, `unknown rule key "${k}" (${[...RULE_KEYS].join(', ')})`);
    const id = this.str(o, 'id', true, 64)!;
    if (!RULE_ID.test(id)) this.fail(o, 'id', `rule id "${id}" must be lower-case words joined by "-", e.g. "shell-history-clear"`);
    if (o.enabled !== undefined && typeof o.enabled !== 'boolean') this.fail(o, 'enabled', '"enabled" must be true or false');
    const version = o.version ?? 1;
    if (!Number.isInteger(version) || (version as number) < 1) this.fail(o, 'version', '"version" must be a whole number from 1');
    const name = this.str(o, 'name', true, 200)!;
    const description = this.str(o, 'description', true)!;

    const technique = this.str(o, 'technique', true, 16)!;
    if (!TECHNIQUE_ID.test(technique)) this.fail(o, 'technique', `"${technique}" is not an ATT&CK technique id (T1234 or T1234.001)`);
    const known = this.catalogue.techniques.get(technique);
    if (!known) this.fail(o, 'technique', `technique ${technique} is not in ATT&CK Enterprise ${this.catalogue.version}`);
    if (known!.deprecated) this.fail(o, 'technique', `technique ${technique} (${known!.name}) is deprecated in ATT&CK ${this.catalogue.version}; map the rule to its replacement`);
    let tactics = [...known!.tactics];
    if (o.tactics !== undefined) {
      const wanted = this.strList(o, 'tactics', /^[a-z-]+$/, 'tactic shortname');
      wanted.forEach((t, n) => {
        if (!known!.tactics.includes(t)) {
          throw new Invalid(`${technique} is not under tactic "${t}" (its tactics: ${known!.tactics.join(', ')})`, Array.isArray(o.tactics) ? this.at(o.tactics as unknown[], n) : this.at(o, 'tactics'));
        }
      });
      tactics = wanted;
    }

    const confidence = o.confidence;
    if (typeof confidence !== 'number' || !(confidence > 0 && confidence <= 1)) this.fail(o, 'confidence', '"confidence" must be a number above 0 and at most 1');
    if (o.case_sensitive !== undefined && typeof o.case_sensitive !== 'boolean') this.fail(o, 'case_sensitive', '"case_sensitive" must be true or false');
    this.caseSensitive = o.case_sensitive === true;

    if (!isObj(o.when)) this.fail(o, 'when', '"when" is required: an object of predicates that must all hold');
    const merged: Obj = Object.create(null);
    if (defaults) for (const [k, v] of Object.entries(defaults)) if (!(k in (o.when as Obj))) merged[k] = v;
    Object.assign(merged, o.when);
    // Positions of defaulted keys point at the file's defaults; of the rule's own keys at the rule.
    // Messages about a defaulted key point at the file's defaults; about the rule's own keys at the rule.
    const own = o.when as Obj;
    this.redirect.set(merged, (key) => this.parsed.positionIn(typeof key === 'string' && !(key in own) && defaults ? defaults : own, key));
    const { conditions, aggregate } = this.when(merged, true);
    const eventCond = conditions.find((c) => c.kind === 'event_is');

    let evidenceFields: string[] | undefined;
    if (o.evidence_fields !== undefined) evidenceFields = this.strList(o, 'evidence_fields', FIELD_NAME, 'field name', false);

    const ex = o.examples;
    if (!isObj(ex)) this.fail(o, 'examples', '"examples" is required: {"match": [...], "no_match": [...]} with at least one of each');
    for (const k of Object.keys(ex as Obj)) if (k !== 'match' && k !== 'no_match') this.fail(ex as Obj, k, `unknown key "${k}" in "examples" (match, no_match)`);
    const lists: Record<'match' | 'no_match', RuleExample[]> = { match: [], no_match: [] };
    for (const k of ['match', 'no_match'] as const) {
      const list = (ex as Obj)[k];
      if (!Array.isArray(list) || list.length === 0) this.fail(ex as Obj, k, `"examples.${k}" must list at least one example`);
      lists[k] = (list as unknown[]).map((x, n) => this.example(list as unknown[], n, x, true));
    }

    if (o.enabled === false) return null;
    const pos = this.parsed.positionOf(o) ?? { line: 1, column: 1 };
    return {
      id,
      version: version as number,
      name,
      description,
      technique,
      tactics,
      confidence: confidence as number,
      caseSensitive: this.caseSensitive,
      conditions,
      aggregate,
      evidenceFields,
      events: eventCond && eventCond.kind === 'event_is' ? [...eventCond.events] : null,
      source: { file: this.file, line: pos.line, column: pos.column },
      examples: lists,
      exampleDefaults: fileDefaults,
    };
  }
}

/** Validates one rule file's text. Problems are collected per rule, so one bad rule does not hide the others. */
export function parseRuleFile(text: string, file: string, catalogue: AttackCatalogue): { rules: RuleDefinition[]; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const rules: RuleDefinition[] = [];
  let parsed: ParsedJson;
  try {
    parsed = parseJsonWithPositions(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) {
      problems.push({ file, line: err.line, column: err.column, message: err.message.replace(/^\d+:\d+: /, '') });
      return { rules, problems };
    }
    throw err;
  }
  const v = new FileValidator(parsed, catalogue, file);
  const report = (err: unknown, fallback: Position): void => {
    if (!(err instanceof Invalid)) throw err;
    const pos = err.pos ?? fallback;
    problems.push({ file, line: pos.line, column: pos.column, message: err.message });
  };
  const root = parsed.value;
  const start = { line: 1, column: 1 };
  if (!isObj(root)) {
    problems.push({ file, ...start, message: 'a rule file is a JSON object: {"defaults": {...}, "rules": [...]}' });
    return { rules, problems };
  }
  let defaults: Obj | undefined;
  const fileDefaults: { event?: string; service?: string } = {};
  try {
    for (const k of Object.keys(root)) if (!FILE_KEYS.has(k)) v.fail(root, k, `unknown key "${k}" (${[...FILE_KEYS].join(', ')})`);
    if (root.defaults !== undefined) {
      if (!isObj(root.defaults)) v.fail(root, 'defaults', '"defaults" must be an object');
      defaults = root.defaults as Obj;
      for (const k of Object.keys(defaults)) if (!DEFAULT_KEYS.has(k)) v.fail(defaults, k, `"defaults" may set only ${[...DEFAULT_KEYS].join(' and ')}`);
      const ev = defaults.event_is;
      const svc = defaults.service_in;
      fileDefaults.event = typeof ev === 'string' ? ev : Array.isArray(ev) && typeof ev[0] === 'string' ? ev[0] : undefined;
      fileDefaults.service = typeof svc === 'string' ? svc : Array.isArray(svc) && typeof svc[0] === 'string' ? svc[0] : undefined;
    }
    if (!Array.isArray(root.rules) || root.rules.length === 0) v.fail(root, 'rules', '"rules" must be a non-empty list of rules');
    if ((root.rules as unknown[]).length > MAX_RULES_PER_FILE) v.fail(root, 'rules', `more than ${MAX_RULES_PER_FILE} rules in one file`);
  } catch (err) {
    report(err, start);
    return { rules, problems };
  }
  const list = root.rules as unknown[];
  list.forEach((raw, n) => {
    const pos = parsed.positionIn(list, n) ?? start;
    if (!isObj(raw)) {
      problems.push({ file, ...pos, message: 'each rule must be a JSON object' });
      return;
    }
    const label = typeof raw.id === 'string' ? `rule "${raw.id}": ` : `rule #${n + 1}: `;
    try {
      const rule = v.rule(raw, defaults, fileDefaults);
      if (rule) rules.push(rule);
    } catch (err) {
      if (err instanceof Invalid) err.message = label + err.message;
      report(err, pos);
    }
  });
  return { rules, problems };
}

/**
 * Loads every rule file of a directory. With `strict` (the default) any problem throws a
 * RuleFileError listing all of them; otherwise bad rules are left out and reported in `problems`.
 */
export async function loadRules(dir: string, catalogue: AttackCatalogue, opts: { strict?: boolean } = {}): Promise<RuleSet> {
  const strict = opts.strict ?? true;
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => RULE_FILE.test(n)).sort();
  } catch (err) {
    throw new RuleFileError([{ file: dir, line: 0, column: 0, message: `cannot read the rule directory: ${(err as Error).message}` }]);
  }
  const rules: RuleDefinition[] = [];
  const problems: RuleProblem[] = [];
  const seen = new Map<string, RuleDefinition>();
  for (const name of names) {
    const path = join(dir, name);
    const text = await readFile(path, 'utf8');
    const result = parseRuleFile(text, path, catalogue);
    problems.push(...result.problems);
    for (const rule of result.rules) {
      const prior = seen.get(rule.id);
      if (prior) {
        problems.push({ ...rule.source, message: `rule "${rule.id}": the id is already used at ${basename(prior.source.file)}:${prior.source.line}` });
        continue;
      }
      seen.set(rule.id, rule);
      rules.push(rule);
    }
  }
  if (names.length === 0) problems.push({ file: dir, line: 0, column: 0, message: 'no rule files (*.json) in the rule directory' });
  if (strict && problems.length > 0) throw new RuleFileError(problems);
  return { rules, problems, files: names.map((n) => join(dir, n)) };
}
