// Turns the examples written next to each rule into events, and runs a rule on them in isolation.
import type { RuleDefinition, RuleExample, ExampleEvent } from '../../src/intel/ttp/rule-schema.ts';
import type { AttackCatalogue } from '../../src/intel/ttp/catalogue.ts';
import type { TtpEvent, TtpTag } from '../../src/intel/ttp/types.ts';
import { createEngine } from '../../src/intel/ttp/engine.ts';
import { createAttackerState } from '../../src/intel/ttp/attacker-state.ts';

export const EXAMPLE_IP = '198.51.100.23';
const BASE_MS = Date.parse('2026-03-02T10:00:00.000Z');

function fill(template: string, i: number): string {
  return template.replaceAll('{i}', String(i));
}

export function exampleEvents(rule: RuleDefinition, example: RuleExample): TtpEvent[] {
  const defaults = rule.exampleDefaults;
  const items: (string | ExampleEvent)[] = typeof example === 'object' && 'sequence' in example ? example.sequence : [example];
  const events: TtpEvent[] = [];
  let t = BASE_MS;
  for (const item of items) {
    const spec: ExampleEvent = typeof item === 'string' ? { command: item } : item;
    const repeat = spec.repeat ?? 1;
    for (let i = 0; i < repeat; i++) {
      const fields: Record<string, string> = {};
      for (const [k, v] of Object.entries(spec.fields ?? {})) fields[k] = fill(v, i);
      const command = spec.command === undefined ? undefined : fill(spec.command, i);
      if (command !== undefined) fields.command = command;
      if (spec.secret !== undefined) fields.secret_b64 = Buffer.from(fill(spec.secret, i)).toString('base64');
      const ev: TtpEvent = {
        ts: spec.ts ?? t,
        decky: spec.decky ?? 'decky-01',
        service: spec.service ?? defaults.service ?? 'ssh',
        event: spec.event ?? (command !== undefined ? 'command' : defaults.event ?? 'command'),
        attacker_ip: spec.attacker_ip ?? EXAMPLE_IP,
        fields,
      };
      if (command !== undefined) ev.command = command;
      events.push(ev);
      t += (spec.step_s ?? 1) * 1000;
    }
  }
  return events;
}

/** Runs one rule alone over an example's events (fresh attacker states); returns its tags. */
export function runRuleOn(rule: RuleDefinition, catalogue: AttackCatalogue, example: RuleExample): TtpTag[] {
  const engine = createEngine([rule], catalogue);
  const states = new Map<string, ReturnType<typeof createAttackerState>>();
  const tags: TtpTag[] = [];
  for (const ev of exampleEvents(rule, example)) {
    let state = states.get(ev.attacker_ip);
    if (!state) states.set(ev.attacker_ip, (state = createAttackerState(ev.attacker_ip)));
    tags.push(...engine.evaluate(ev, state).tags);
  }
  return tags;
}

export function describeExample(example: RuleExample): string {
  const s = JSON.stringify(example);
  return s.length > 140 ? s.slice(0, 137) + '...' : s;
}
