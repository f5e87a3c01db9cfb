// Rule patterns run on attacker text. The static guard refuses the shapes that backtrack
// exponentially, and every shipped pattern is timed on adversarial input built from its own
// literals, at the longest length the engine ever hands it. The slowest one is printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { loadAttackCatalogue } from '../../src/intel/ttp/catalogue.ts';
import { loadRules } from '../../src/intel/ttp/rule-loader.ts';
import type { Condition } from '../../src/intel/ttp/rule-schema.ts';
import { MAX_MATCH_CHARS, boundedExec, checkPatternSafety, compileRulePattern } from '../../src/intel/ttp/regex-guard.ts';

test('the guard refuses catastrophic shapes and accepts ordinary patterns', () => {
  for (const bad of ['(a+)+$', '(\\w*\\s?)*x', '(?:a|ab)*c', '(a{1,50})+', '(x+x+)+y', '(a)\\1', '(?<n>a)\\k<n>', '.*a.*b.*c.*d', 'a{1,100}b{1,100}c{1,100}d{1,100}', '*a', '(ab', 'ab)']) {
    assert.throws(() => checkPatternSafety(bad), Error, bad);
  }
  for (const good of ['\\bwget\\b', '(?:\\d{1,3}\\.){3}\\d{1,3}', '(?:^|\\s)-[a-zA-Z]*c(?:\\s|$)', '^(?!\\s{0,4}-l\\b)\\S', '[(*+?]{2}', 'a\\(b\\)+', '\\u{1F600}', '\\p{L}{2}', '(?:-\\S{1,30}\\s{1,4}){0,3}ps']) {
    assert.doesNotThrow(() => checkPatternSafety(good), good);
  }
  assert.equal(compileRulePattern('WGET', false).test('wget'), true);
  assert.equal(compileRulePattern('WGET', true).test('wget'), false);
  // The text is capped: a match beyond the cap is not seen.
  assert.equal(boundedExec(/needle/, 'x'.repeat(MAX_MATCH_CHARS) + 'needle'), null);
});

function patternsOf(conds: readonly Condition[]): RegExp[] {
  return conds.flatMap((c): RegExp[] => {
    switch (c.kind) {
      case 'field_matches':
      case 'any_field_matches':
      case 'command_matches':
      case 'url_matches':
        return [c.re];
      case 'program':
        return [c.nameRe, c.argsRe].filter((r): r is RegExp => !!r);
      case 'any':
        return c.of.flatMap(patternsOf);
      case 'not':
        return patternsOf(c.of);
      default:
        return [];
    }
  });
}

/** Inputs that make backtracking work hardest: the pattern's own words repeated, near misses, long runs. */
function adversarialInputs(re: RegExp): string[] {
  const words = [...new Set(re.source.replace(/\\[a-zA-Z]/g, ' ').match(/[A-Za-z0-9_./:@=-]{2,}/g) ?? [])].slice(0, 12);
  const fill = (unit: string): string => unit.repeat(Math.ceil(MAX_MATCH_CHARS / Math.max(1, unit.length))).slice(0, MAX_MATCH_CHARS);
  const inputs = ['a', ' ', '/', '.', '-', '%', '../', '${', '() {', ' -', '\t', 'aaaa ', '1.', '"', 'x@'].map(fill);
  for (const w of words) {
    inputs.push(fill(w + ' '), fill(w), fill(w + '/'), fill(w.slice(0, -1) + ' '), w + ' ' + fill('x'), fill(w + ' -x '), fill(w + '>'));
  }
  inputs.push(fill(words.join(' ') + ' '));
  return inputs;
}

test('every shipped pattern stays fast on adversarial input', async () => {
  const catalogue = loadAttackCatalogue(join(ROOT, 'data/attack/enterprise-18.1.json'));
  const { rules } = await loadRules(join(ROOT, 'rules/ttp'), catalogue);
  const timings: { rule: string; pattern: string; ms: number }[] = [];
  for (const rule of rules) {
    for (const re of patternsOf(rule.conditions)) {
      let worst = 0;
      re.test('warm up: the first run compiles the pattern');
      for (const input of adversarialInputs(re)) {
        // Best of two runs: one stray GC pause should not be blamed on the pattern.
        let best = Infinity;
        for (let run = 0; run < 2; run++) {
          const t0 = performance.now();
          boundedExec(re, input);
          best = Math.min(best, performance.now() - t0);
        }
        worst = Math.max(worst, best);
      }
      timings.push({ rule: rule.id, pattern: re.source, ms: worst });
    }
  }
  timings.sort((a, b) => b.ms - a.ms);
  const slowest = timings[0]!;
  console.log(`# ${timings.length} patterns; slowest: ${slowest.rule} ${slowest.ms.toFixed(3)} ms on ${MAX_MATCH_CHARS} chars: /${slowest.pattern.slice(0, 80)}…/`);
  for (const t of timings.slice(1, 5)) console.log(`#   then ${t.rule} ${t.ms.toFixed(3)} ms`);
  // Catastrophic backtracking costs seconds at this length; a linear or mildly polynomial pattern costs well under a few milliseconds.
  assert.ok(slowest.ms < 50, `${slowest.rule} took ${slowest.ms.toFixed(1)} ms on adversarial input`);
});
