import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertPattern, assertSubject, isValidPattern, isValidSubject, subjectMatches } from '../../src/bus/subject.ts';
import { token, topics } from '../../src/bus/topics.ts';

// [pattern, subject, matches] — the cases of the NATS subject grammar.
const CASES: [string, string, boolean][] = [
  ['a', 'a', true],
  ['a', 'b', false],
  ['a.b', 'a.b', true],
  ['a.b', 'a', false],
  ['a', 'a.b', false],
  ['*', 'a', true],
  ['*', 'a.b', false],
  ['a.*', 'a.b', true],
  ['a.*', 'a', false],
  ['a.*', 'a.b.c', false],
  ['*.b', 'a.b', true],
  ['a.*.c', 'a.b.c', true],
  ['a.*.c', 'a.b.d', false],
  ['a.>', 'a', false],
  ['a.>', 'a.b', true],
  ['a.>', 'a.b.c.d', true],
  ['>', 'a', true],
  ['>', 'a.b.c', true],
  ['*.>', 'a', false],
  ['*.>', 'a.b', true],
  ['system.*.health', 'system.bus.health', true],
  ['system.*.health', 'system.profiler.health', true],
  ['system.*.health', 'system.health', false],
  ['topology.*.mutation.enqueued', 'topology.abc.mutation.enqueued', true],
  ['attacker.observation.>', 'attacker.observation.motor.input_modality', true],
  ['attacker.observation.>', 'attacker.observation', false],
  ['A.b', 'a.b', false],
];

test('wildcard matching follows the NATS grammar', () => {
  for (const [pattern, subject, expected] of CASES) {
    assert.equal(subjectMatches(pattern, subject), expected, `${pattern} vs ${subject}`);
  }
});

test('subjects reject wildcards, whitespace, empty tokens and reserved names', () => {
  for (const bad of ['', 'a..b', '.a', 'a.', 'a.*', 'a.>', 'a b', 'a.b\tc', '$SYS.x', 'a*b.c']) {
    assert.equal(isValidSubject(bad), false, JSON.stringify(bad));
    assert.throws(() => assertSubject(bad));
  }
  for (const good of ['a', 'a.b.c', 'system.bus.health', 'ttp.rule.fired.T1110']) assert.equal(isValidSubject(good), true, good);
});

test('patterns allow * and > only as whole tokens, > only last', () => {
  for (const bad of ['a.>.b', 'a.b*', 'a.>x', '>.a', 'a..*', '$JS.>']) {
    assert.equal(isValidPattern(bad), false, bad);
    assert.throws(() => assertPattern(bad));
  }
  for (const good of ['>', '*', 'a.*.c', 'a.>', '*.*.>']) assert.equal(isValidPattern(good), true, good);
});

test('topic builders reject tokens that would change a subject shape', () => {
  assert.equal(topics.workerHealth('profiler'), 'system.profiler.health');
  assert.equal(topics.decky('web-01', 'state'), 'decky.web-01.state');
  assert.equal(topics.attackerObservation('motor.shell_mastery.tab_completion'), 'attacker.observation.motor.shell_mastery.tab_completion');
  for (const bad of ['a.b', '*', '>', 'a b', '', '$x']) {
    assert.throws(() => token(bad), /token|non-empty|'\$'/);
    assert.throws(() => topics.workerControl(bad));
  }
  assert.throws(() => topics.attackerObservation('a..b'));
});
