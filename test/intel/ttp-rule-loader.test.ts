// Bad rule files are refused with messages that say where (file:line:column) and what to fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { loadAttackCatalogue } from '../../src/intel/ttp/catalogue.ts';
import { RuleFileError, formatProblem, loadRules, parseRuleFile } from '../../src/intel/ttp/rule-loader.ts';
import { parseJsonWithPositions, JsonSyntaxError } from '../../src/intel/ttp/json-positions.ts';
import { loadTtpEngine } from '../../src/intel/ttp/load-engine.ts';

const catalogue = loadAttackCatalogue(join(ROOT, 'data/attack/enterprise-18.1.json'));

const GOOD_RULE = {
  id: 'test-uname',
  name: 'uname',
  description: 'system information',
  technique: 'T1082',
  confidence: 0.5,
  when: { event_is: 'command', service_in: ['ssh'], program: ['uname'] },
  examples: { match: ['uname -a'], no_match: ['id'] },
};

/** A file with one rule per line (so line numbers are predictable), built from rule objects. */
function fileOf(...rules: object[]): string {
  return '{\n"rules": [\n' + rules.map((r) => JSON.stringify(r)).join(',\n') + '\n]\n}\n';
}

function problemsOf(text: string): string[] {
  return parseRuleFile(text, 'rules/ttp/x.json', catalogue).problems.map(formatProblem);
}

test('a valid file yields its rule with the position it was written at', () => {
  const { rules, problems } = parseRuleFile(fileOf(GOOD_RULE), 'x.json', catalogue);
  assert.deepEqual(problems, []);
  assert.equal(rules.length, 1);
  assert.deepEqual(rules[0]!.source, { file: 'x.json', line: 3, column: 1 });
  assert.deepEqual(rules[0]!.events, ['command']);
  assert.deepEqual(rules[0]!.tactics, ['discovery']);
});

test('an unknown technique id is refused at its line and column', () => {
  const text = fileOf(GOOD_RULE, { ...GOOD_RULE, id: 'test-bad', technique: 'T9999' });
  const [p, ...rest] = problemsOf(text);
  assert.deepEqual(rest, []);
  const column = text.split('\n')[3]!.indexOf('"T9999"') + 1;
  assert.equal(p, `rules/ttp/x.json:4:${column}: rule "test-bad": technique T9999 is not in ATT&CK Enterprise 18.1`);
});

test('malformed, deprecated and mis-tacticked techniques are refused', () => {
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, technique: 'T12' }))[0]!, /"T12" is not an ATT&CK technique id/);
  const deprecated = [...catalogue.techniques.values()].find((t) => t.deprecated)!;
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, technique: deprecated.id }))[0]!, new RegExp(`${deprecated.id.replace('.', '\\.')} .* is deprecated`));
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, tactics: ['persistence'] }))[0]!, /T1082 is not under tactic "persistence" \(its tactics: discovery\)/);
});

test('dangerous or invalid patterns are refused with the reason', () => {
  const nested = problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', command_matches: '(a+)+b' } }));
  assert.match(nested[0]!, /x\.json:3:\d+: rule "test-uname": bad pattern "\(a\+\)\+b": nested quantifier/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', command_matches: '(x|xy)*z' } }))[0]!, /alternatives repeated without bound/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', command_matches: '(a)\\1' } }))[0]!, /backreference/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', command_matches: 'a.*b.*c.*d.*' } }))[0]!, /4 long repetitions/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', command_matches: '[unclosed' } }))[0]!, /unterminated character class|not a valid/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', program: ['ls'], args_match: '(?<=x' } }))[0]!, /bad pattern/);
});

test('unknown keys, predicates and services are refused', () => {
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, techniqe: 'T1082' }))[0]!, /unknown rule key "techniqe"/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', program_name: ['x'] } }))[0]!, /unknown predicate "program_name"/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', service_in: ['sshd'] } }))[0]!, /unknown service "sshd" \(known: ssh, telnet/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'command', args_match: 'x' } }))[0]!, /"args_match" needs "program"/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, when: {} }))[0]!, /an empty condition matches every event/);
});

test('rule fields are checked: confidence, id, examples, counting predicates', () => {
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, confidence: 1.5 }))[0]!, /"confidence" must be a number above 0 and at most 1/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, id: 'Bad_Id' }))[0]!, /must be lower-case words joined by "-"/);
  assert.match(problemsOf(fileOf({ ...GOOD_RULE, examples: { match: ['uname'] } }))[0]!, /"examples.no_match" must list at least one example/);
  assert.match(
    problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'auth_attempt', auth_failures_from_ip: { at_least: 500, within_s: 60 } } }))[0]!,
    /"at_least" must be a whole number from 1 to 64/,
  );
  assert.match(
    problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'auth_attempt', any: [{ auth_failures_from_ip: { at_least: 5, within_s: 60 } }, { event_is: 'x' }] } }))[0]!,
    /use it at the top level of "when"/,
  );
  assert.match(
    problemsOf(fileOf({ ...GOOD_RULE, when: { event_is: 'x', distinct_from_ip: { count: 'username', same: 'username', at_least: 3, within_s: 60 } } }))[0]!,
    /"same" must be a field name or derived key other than "count"/,
  );
});

test('JSON syntax errors, duplicate keys and non-objects are reported with positions', () => {
  assert.deepEqual(problemsOf('{\n  "rules": [\n    {"id": "a",}\n  ]\n}'), ['rules/ttp/x.json:3:16: unexpected "}" (expected a "key")']);
  assert.deepEqual(problemsOf('{\n"rules": [],\n"rules": []\n}'), ['rules/ttp/x.json:3:1: duplicate key "rules"']);
  assert.deepEqual(problemsOf('{"rules": [{"id": "a\\qb"}]}'), ['rules/ttp/x.json:1:21: bad escape \\q in string (regex backslashes must be doubled in JSON: "\\\\b")']);
  assert.deepEqual(problemsOf('[1, 2]'), ['rules/ttp/x.json:1:1: a rule file is a JSON object: {"defaults": {...}, "rules": [...]}']);
  assert.match(problemsOf('{"rules": [7]}')[0]!, /x\.json:1:12: each rule must be a JSON object/);
});

test('one bad rule does not hide the others: every problem is listed', () => {
  const text = fileOf(GOOD_RULE, { ...GOOD_RULE, id: 'b', technique: 'T0000' }, { ...GOOD_RULE, id: 'c', confidence: 0 });
  const { rules, problems } = parseRuleFile(text, 'x.json', catalogue);
  assert.deepEqual(rules.map((r) => r.id), ['test-uname']);
  assert.deepEqual(problems.map((p) => p.line), [4, 5]);
});

test('defaults apply to every rule, and problems in them point at the defaults', () => {
  const text = '{\n"defaults": {"event_is": "command", "service_in": ["ssh", "gopher"]},\n"rules": [\n' + JSON.stringify({ ...GOOD_RULE, when: { program: ['uname'] } }) + '\n]\n}';
  const [p] = problemsOf(text);
  assert.match(p!, /^rules\/ttp\/x\.json:2:\d+: rule "test-uname": unknown service "gopher"/);
  const ok = parseRuleFile(text.replace('"gopher"', '"telnet"'), 'x.json', catalogue);
  assert.deepEqual(ok.problems, []);
  assert.deepEqual(ok.rules[0]!.events, ['command']);
  assert.deepEqual(ok.rules[0]!.exampleDefaults, { event: 'command', service: 'ssh' });
});

test('a directory load is strict by default, lenient on request, and catches duplicate ids across files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-ttp-rules-'));
  try {
    writeFileSync(join(dir, 'a.json'), fileOf(GOOD_RULE));
    writeFileSync(join(dir, 'b.json'), fileOf({ ...GOOD_RULE }, { ...GOOD_RULE, id: 'other', technique: 'T1033' }));
    writeFileSync(join(dir, 'README.md'), 'not a rule file');
    writeFileSync(join(dir, '.a.json.swp'), 'editor junk');
    await assert.rejects(loadRules(dir, catalogue), (err: unknown) => {
      assert.ok(err instanceof RuleFileError);
      assert.match(err.message, /1 problem in TTP rules:\n  .*b\.json:3:1: rule "test-uname": the id is already used at a\.json:3/);
      return true;
    });
    const lenient = await loadRules(dir, catalogue, { strict: false });
    assert.deepEqual(lenient.rules.map((r) => r.id), ['test-uname', 'other']);
    assert.equal(lenient.problems.length, 1);
    await assert.rejects(loadTtpEngine({ rulesDir: dir, cataloguePath: join(ROOT, 'data/attack/enterprise-18.1.json') }), RuleFileError);
    await assert.rejects(loadRules(join(dir, 'missing'), catalogue), /cannot read the rule directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the position parser tracks lines and columns of every value', () => {
  const parsed = parseJsonWithPositions('{\n  "a": [1,\n    {"b": "x"}],\n  "c": true\n}');
  const root = parsed.value as { a: [number, { b: string }] };
  assert.deepEqual(parsed.positionIn(root, 'a'), { line: 2, column: 8 });
  assert.deepEqual(parsed.positionIn(root.a, 1), { line: 3, column: 5 });
  assert.deepEqual(parsed.positionIn(root.a[1], 'b'), { line: 3, column: 11 });
  assert.deepEqual(parsed.positionIn(root, 'c'), { line: 4, column: 8 });
  assert.throws(() => parseJsonWithPositions('{"a": 1} x'), (e: unknown) => e instanceof JsonSyntaxError && e.line === 1 && e.column === 10);
  assert.throws(() => parseJsonWithPositions('['.repeat(100) + ']'.repeat(100)), /nesting deeper than 64/);
  assert.equal((parseJsonWithPositions('{"__proto__": {"polluted": 1}}').value as Record<string, unknown>).__proto__ !== Object.prototype, true);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
