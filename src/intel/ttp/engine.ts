// The TTP rule engine: pure evaluation of validated rules against one event (plus, for counting
// rules, the attacker's small state object that the caller keeps). Output: tags with evidence and
// deterministic ids, so replaying the same events yields the same tags.
import type { AttackCatalogue, Technique } from './catalogue.ts';
import { parentTechniqueId } from './catalogue.ts';
import type { Condition, RuleDefinition } from './rule-schema.ts';
import type { TagEvidence, TtpEvent, TtpTag } from './types.ts';
import { boundedExec } from './regex-guard.ts';
import { EventView, SECRET_FIELD } from './event-view.ts';
import { claimFire, countForRule, failuresWithin, hasFired, recordAuth, shortHash, type AttackerState } from './attacker-state.ts';
import { TAG_NAMESPACE, uuidv5 } from './uuid5.ts';

const MAX_TEXT = 512;
const MAX_MATCHED = 256;
const MAX_EVIDENCE_FIELDS = 16;
const MAX_FIELD_VALUE = 256;

export interface EvaluateResult {
  tags: TtpTag[];
  /** The attacker state was updated and should be persisted. */
  stateChanged: boolean;
}

export interface TtpEngine {
  readonly rules: readonly RuleDefinition[];
  readonly catalogue: AttackCatalogue;
  /** Tags for one event. `state` is the attacker's (event.attacker_ip) state; without it counting rules do not fire. */
  evaluate(event: TtpEvent, state?: AttackerState): EvaluateResult;
}

interface CompiledRule {
  def: RuleDefinition;
  technique: Technique;
  parent: string;
  conditions: readonly Condition[];
}

/** false = no match; true = match; a string = match, with the narrow text that matched (for evidence). */
type Outcome = boolean | string;

/** Cheap predicates first, regexes last. */
const COST: Record<Condition['kind'], number> = {
  event_is: 0, service_in: 0, auth_outcome: 0, field_present: 1, field_equals: 1, auth_success_after_failures: 2,
  field_matches: 3, url_matches: 4, command_matches: 4, program: 4, not: 5, any: 5, any_field_matches: 6,
};

const clip = (s: string, n: number): string => (s.length > n ? s.slice(0, n - 1) + '…' : s);

function orderConditions(conds: readonly Condition[]): Condition[] {
  return [...conds]
    .map((c): Condition => (c.kind === 'any' ? { kind: 'any', of: c.of.map(orderConditions) } : c.kind === 'not' ? { kind: 'not', of: orderConditions(c.of) } : c))
    .sort((a, b) => COST[a.kind] - COST[b.kind]);
}

function evalAll(conds: readonly Condition[], v: EventView, state: AttackerState | undefined): Outcome {
  let result: Outcome = true;
  for (const c of conds) {
    const r = evalOne(c, v, state);
    if (r === false) return false;
    if (typeof r === 'string') result = r;
  }
  return result;
}

function evalOne(c: Condition, v: EventView, state: AttackerState | undefined): Outcome {
  switch (c.kind) {
    case 'event_is':
      return c.events.has(v.ev.event);
    case 'service_in':
      return c.services.has(v.ev.service);
    case 'field_equals': {
      const f = v.field(c.field);
      return f !== undefined && c.values.has(f.toLowerCase());
    }
    case 'field_present':
      return c.fields.every((f) => !!v.field(f));
    case 'field_matches': {
      const f = v.field(c.field);
      if (f === undefined) return false;
      const m = boundedExec(c.re, f);
      return m ? m[0] || true : false;
    }
    case 'any_field_matches': {
      for (const t of v.texts) {
        const m = boundedExec(c.re, t);
        if (m) return m[0] || true;
      }
      return false;
    }
    case 'command_matches': {
      const cmd = v.command;
      if (!cmd) return false;
      const m = boundedExec(c.re, cmd);
      return m ? m[0] || true : false;
    }
    case 'url_matches': {
      const u = v.url;
      if (!u) return false;
      const m = boundedExec(c.re, u);
      return m ? m[0] || true : false;
    }
    case 'program': {
      for (const sc of v.commands) {
        for (const call of sc.calls) {
          if (c.names ? !c.names.has(call.name) : !c.nameRe!.test(call.raw)) continue;
          if (c.argsRe && !boundedExec(c.argsRe, call.args)) continue;
          return sc.text || true;
        }
      }
      return false;
    }
    case 'auth_outcome':
      return c.success ? v.isAuth && v.authSucceeded : v.isAuthAttempt && !v.authSucceeded;
    case 'auth_success_after_failures': {
      if (!state || !v.isAuth || !v.authSucceeded) return false;
      const n = failuresWithin(state, v.tMs, c.windowMs);
      return n >= c.atLeast ? `login succeeded after ${n} failed attempt${n === 1 ? '' : 's'}` : false;
    }
    case 'any':
      for (const alt of c.of) {
        const r = evalAll(alt, v, state);
        if (r !== false) return r;
      }
      return false;
    case 'not':
      return evalAll(c.of, v, state) === false;
  }
}

function evidenceFields(v: EventView, wanted: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const keys = wanted ?? Object.keys(v.ev.fields);
  let n = 0;
  for (const k of keys) {
    if (n >= MAX_EVIDENCE_FIELDS) break;
    if (SECRET_FIELD.test(k) || (!wanted && k === 'command')) continue;
    const val = v.field(k);
    if (val === undefined || val === '') continue;
    out[k] = clip(val, MAX_FIELD_VALUE);
    n++;
  }
  return out;
}

/** Builds an engine from validated rules (see rule-loader.ts). */
export function createEngine(rules: readonly RuleDefinition[], catalogue: AttackCatalogue): TtpEngine {
  const compiled: CompiledRule[] = rules.map((def) => {
    const technique = catalogue.techniques.get(def.technique);
    if (!technique) throw new Error(`rule "${def.id}": technique ${def.technique} is not in ATT&CK ${catalogue.version}`);
    return { def, technique, parent: parentTechniqueId(def.technique), conditions: orderConditions(def.conditions) };
  });
  // Index by event name: most rules name their events, so an event is checked against few rules.
  const generic = compiled.filter((r) => r.def.events === null);
  const byEvent = new Map<string, CompiledRule[]>();
  for (const r of compiled) for (const e of r.def.events ?? []) if (!byEvent.has(e)) byEvent.set(e, []);
  for (const [e, list] of byEvent) {
    for (const r of compiled) if (r.def.events === null || r.def.events.includes(e)) list.push(r);
  }

  function tagFor(r: CompiledRule, v: EventView, matched: Outcome, key: string, aggregate?: TagEvidence['aggregate']): TtpTag {
    const ev = v.ev;
    const ts = new Date(v.tMs).toISOString();
    const evidence: TagEvidence = { event: ev.event, ts, text: clip(v.summary, MAX_TEXT), fields: evidenceFields(v, r.def.evidenceFields), key };
    if (typeof matched === 'string' && matched !== evidence.text) evidence.matched = clip(matched, MAX_MATCHED);
    if (aggregate) evidence.aggregate = aggregate;
    return {
      id: uuidv5(TAG_NAMESPACE, `${r.def.id}|${ev.attacker_ip}|${key}`),
      technique_id: r.technique.id,
      technique_name: r.technique.name,
      parent_technique: r.parent,
      tactics: [...r.def.tactics],
      rule_id: r.def.id,
      rule_version: r.def.version,
      confidence: r.def.confidence,
      attacker_ip: ev.attacker_ip,
      decky: ev.decky,
      service: ev.service,
      ts,
      attack_version: catalogue.version,
      evidence,
    };
  }

  function evaluate(event: TtpEvent, state?: AttackerState): EvaluateResult {
    const v = new EventView(event);
    if (state && state.ip !== event.attacker_ip) {
      throw new Error(`attacker state belongs to ${state.ip}, not to the event's attacker ${event.attacker_ip}`);
    }
    let stateChanged = false;
    if (state && (v.isAuthAttempt || (v.isAuth && v.authSucceeded))) {
      recordAuth(state, v.tMs, v.authSucceeded);
      stateChanged = true;
    }
    const candidates = byEvent.get(event.event) ?? generic;
    // One tag per technique and event: when several rules agree, the most confident one speaks.
    const best = new Map<string, TtpTag>();
    for (const r of candidates) {
      const outcome = evalAll(r.conditions, v, state);
      if (outcome === false) continue;
      let tag: TtpTag | undefined;
      const agg = r.def.aggregate;
      if (!agg) {
        const key = `e|${v.tMs}|${event.decky}|${event.service}|${event.event}|${shortHash(v.summary + '\u0000' + String(outcome))}`;
        tag = tagFor(r, v, outcome, key);
      } else {
        if (!state) continue;
        let key: string | undefined = '';
        let group: string | undefined = '';
        if (agg.kind === 'auth_failures_from_ip') {
          if (!v.isAuthAttempt || v.authSucceeded) continue;
          group = agg.perService ? event.service : '';
        } else {
          key = v.derivedKey(agg.count);
          group = agg.same ? v.derivedKey(agg.same) : '';
          if (key === undefined || group === undefined) continue;
        }
        const fireKey = `a|${v.day}${agg.kind === 'auth_failures_from_ip' && agg.perService ? '|' + event.service : ''}`;
        // Once a rule fired for this key it cannot fire again today. The event still matters if its
        // window reaches past midnight, into a day the rule has not fired for yet.
        const fired = hasFired(state, r.def.id, fireKey);
        if (fired && v.tMs + agg.windowMs < v.nextDayMs) continue;
        const { count, firstMs } = countForRule(state, r.def.id, v.tMs, agg.windowMs, key, group, agg.kind === 'distinct_from_ip', !fired);
        stateChanged = true;
        if (fired || count < agg.atLeast) continue;
        claimFire(state, r.def.id, fireKey);
        tag = tagFor(r, v, outcome, fireKey, { count, window_s: agg.windowMs / 1000, first_ts: new Date(firstMs).toISOString() });
      }
      const prior = best.get(tag.technique_id);
      if (!prior || tag.confidence > prior.confidence) best.set(tag.technique_id, tag);
    }
    return { tags: [...best.values()], stateChanged };
  }

  return { rules, catalogue, evaluate };
}
