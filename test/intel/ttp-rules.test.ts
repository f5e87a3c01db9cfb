// The shipped rule pack: it loads without a single problem, covers what the decoys record, and
// every rule's own examples (written next to it in rules/ttp) behave: each `match` example fires
// the rule, each `no_match` example does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { loadAttackCatalogue } from '../../src/intel/ttp/catalogue.ts';
import { KNOWN_SERVICES, loadRules } from '../../src/intel/ttp/rule-loader.ts';
import { serviceNames } from '../../src/deckies/catalog.ts';
import { describeExample, runRuleOn } from './ttp-examples.ts';

const catalogue = loadAttackCatalogue(join(ROOT, 'data/attack/enterprise-18.1.json'));
const { rules, problems } = await loadRules(join(ROOT, 'rules/ttp'), catalogue, { strict: false });

test('the shipped rules load without problems', () => {
  assert.deepEqual(problems, []);
  assert.ok(rules.length >= 40, `only ${rules.length} rules`);
});

test('the catalogue is ATT&CK Enterprise 18.1 with its attribution', () => {
  assert.equal(catalogue.version, '18.1');
  assert.match(catalogue.source, /MITRE/);
  assert.ok(catalogue.techniques.size > 600);
  assert.equal(catalogue.techniques.get('T1070.003')?.name, 'Clear Command History');
  assert.deepEqual(catalogue.techniques.get('T1070.003')?.tactics, ['defense-evasion']);
});

test('the rules cover the techniques the decoys can observe', () => {
  const techniques = new Set(rules.map((r) => r.technique));
  const expected = [
    'T1110', 'T1110.001', 'T1110.003', 'T1078', 'T1078.001', 'T1082', 'T1087.001', 'T1033', 'T1057', 'T1016', 'T1049',
    'T1083', 'T1105', 'T1059.004', 'T1222.002', 'T1070.003', 'T1070.004', 'T1053.003', 'T1098.004', 'T1136.001',
    'T1496.001', 'T1190', 'T1595.001', 'T1595.002', 'T1046', 'T1021.004', 'T1021.002', 'T1505.003', 'T1210', 'T1610',
    'T1213.006', 'T1602.001', 'T1590.002', 'T1087.002', 'T1565.001', 'T1611', 'T1552.007',
  ];
  const missing = expected.filter((t) => !techniques.has(t));
  assert.deepEqual(missing, [], `no rule maps to ${missing.join(', ')}`);
  // Rules exist for every family of decoy: shells, web, databases, containers, Windows protocols, ICS, DNS, mail.
  const services = new Set(rules.flatMap((r) => r.conditions.flatMap((c) => (c.kind === 'service_in' ? [...c.services] : []))));
  for (const s of ['ssh', 'telnet', 'http', 'redis', 'mongodb', 'elasticsearch', 'docker_api', 'k8s', 'smb', 'rdp', 'vnc', 'snmp', 'modbus', 'dns', 'smtp', 'pop3', 'tftp', 'ldap', 'mqtt', 'ftp']) {
    assert.ok(services.has(s), `no rule names service ${s}`);
  }
});

test('every shipped rule names the events it applies to (rules are indexed by event)', () => {
  const unindexed = rules.filter((r) => r.events === null).map((r) => r.id);
  assert.deepEqual(unindexed, []);
});

test('the services rules may name are exactly the decoy catalogue', () => {
  assert.deepEqual([...KNOWN_SERVICES].sort(), serviceNames().sort());
});

for (const rule of rules) {
  test(`rule ${rule.id} (${rule.technique}) fires on its match examples and not on its no_match examples`, () => {
    assert.ok(rule.examples.match.length >= 1 && rule.examples.no_match.length >= 1);
    for (const example of rule.examples.match) {
      const tags = runRuleOn(rule, catalogue, example);
      assert.ok(tags.length > 0, `${rule.id} did not fire on ${describeExample(example)}`);
      for (const tag of tags) {
        assert.equal(tag.rule_id, rule.id);
        assert.equal(tag.technique_id, rule.technique);
        assert.ok(tag.evidence.text.length > 0 || tag.evidence.aggregate, 'a tag carries evidence');
      }
    }
    for (const example of rule.examples.no_match) {
      const tags = runRuleOn(rule, catalogue, example);
      assert.equal(tags.length, 0, `${rule.id} fired on ${describeExample(example)}: ${tags[0]?.evidence.matched ?? tags[0]?.evidence.text}`);
    }
  });
}
