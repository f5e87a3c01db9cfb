// The profiler's pure parts: incremental timing (late events, stored records read back), the
// behaviour classes, command extraction per service, tool guesses and the bounded hop path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addEvents, emptyTiming, reviveTiming } from '../../src/intel/profiler/timing.ts';
import { classify, type ClassifyInput } from '../../src/intel/profiler/classify.ts';
import { commandText, mergeProfile, MAX_HOPS, type ProfileEvent } from '../../src/intel/profiler/profile-merge.ts';
import { cadenceTools, classifyUserAgent, sshClientTool } from '../../src/intel/tool-signatures.ts';

const at = (s: number) => new Date(Date.UTC(2024, 0, 1) + s * 1000).toISOString();

test('timing: split into two updates gives the same figures as one; a late event adds no interval', () => {
  const times = [0, 2, 3, 7, 8, 20].map(at);
  const once = addEvents(emptyTiming(), times);
  const twice = addEvents(reviveTiming(JSON.parse(JSON.stringify(addEvents(emptyTiming(), times.slice(0, 3))))), times.slice(3));
  for (const k of ['event_count', 'iat_count', 'mean_iat_s', 'stdev_iat_s', 'min_iat_s', 'max_iat_s', 'median_iat_s', 'cv', 'duration_s'] as const) assert.equal(twice[k], once[k], k);
  assert.equal(once.mean_iat_s, 4);
  assert.equal(once.median_iat_s, 2);
  const late = addEvents(once, [at(5)]);
  assert.equal(late.event_count, 7);
  assert.equal(late.iat_count, 5, 'no interval for a late event');
  assert.equal(late.last_ts, at(20));
  const earlier = addEvents(once, [at(-10)]);
  assert.equal(earlier.first_ts, at(-10));
  assert.equal(earlier.duration_s, 30);
});

test('timing: a malformed stored record starts over instead of poisoning the profile', () => {
  assert.deepEqual(reviveTiming('nonsense'), emptyTiming());
  const t = reviveTiming({ event_count: -5, iat_count: 3, mean_iat_s: 'x', recent_iats_s: [1, 'a', null, 2] });
  assert.equal(t.event_count, 0);
  assert.equal(t.iat_count, 0, 'intervals without their mean are dropped');
  assert.deepEqual(t.recent_iats_s, [1, 2]);
});

test('behaviour classes', () => {
  const base: ClassifyInput = { events: 20, services: 1, deckies: 1, meanIatS: 3, cv: 1, recon: 0, auth: 0, execution: 0 };
  assert.equal(classify({ ...base, events: 2 }), 'unknown');
  assert.equal(classify({ ...base, execution: 3, auth: 40 }), 'interactive');
  assert.equal(classify({ ...base, auth: 5 }), 'brute_force');
  assert.equal(classify({ ...base, deckies: 6, recon: 20 }), 'scanning');
  assert.equal(classify({ ...base, deckies: 6, recon: 20, meanIatS: 40 }), 'slow_scan');
  assert.equal(classify({ ...base, services: 3, meanIatS: 1 }), 'scanning');
  assert.equal(classify({ ...base, meanIatS: 60, cv: 0.1 }), 'beaconing');
  assert.equal(classify({ ...base, meanIatS: 60, cv: 0.9 }), 'mixed');
});

test('tool signatures', () => {
  assert.deepEqual(classifyUserAgent('Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)'), { category: 'scanner', tool: 'nmap', signals: [] });
  assert.equal(classifyUserAgent('curl/8.5.0').tool, 'curl');
  assert.equal(classifyUserAgent('python-requests/2.31').category, 'library');
  assert.equal(classifyUserAgent('Mozilla/5.0 (X11; Linux x86_64)').category, 'browser');
  assert.deepEqual(classifyUserAgent('${jndi:ldap://x/a}').signals, ['injection_like']);
  assert.equal(classifyUserAgent('').category, 'empty');
  assert.equal(sshClientTool('SSH-2.0-libssh2_1.10.0'), 'libssh2');
  assert.equal(sshClientTool('SSH-2.0-libssh_0.9.6'), 'libssh');
  assert.equal(sshClientTool('SSH-2.0-Go'), 'go-ssh');
  assert.equal(sshClientTool('SSH-2.0-OpenSSH_9.6'), 'openssh');
  assert.equal(sshClientTool('SSH-2.0-whatever'), null);
  assert.deepEqual(cadenceTools(30, 0.15), ['mythic']);
  assert.deepEqual(cadenceTools(null, null), []);
});

const ev = (over: Partial<ProfileEvent>): ProfileEvent => ({ ts: at(0), decky: 'd', service: 'ssh', event_type: 'command', fields: {}, ...over });

test('command text per service; queries that are not commands are left out', () => {
  assert.equal(commandText(ev({ fields: { command: 'id', cwd: '/' } })), 'id');
  assert.equal(commandText(ev({ service: 'redis', fields: { command: 'CONFIG', args: '["SET","dir","/tmp"]' } })), 'CONFIG ["SET","dir","/tmp"]');
  assert.equal(commandText(ev({ service: 'ftp', fields: { cmd: 'RETR', arg: 'passwd' } })), 'RETR passwd');
  assert.equal(commandText(ev({ service: 'mongodb', event_type: 'query', fields: { command: 'find', query: '{"a":1}' } })), 'find {"a":1}');
  assert.equal(commandText(ev({ service: 'llmnr', event_type: 'query', fields: { qname: 'wpad' } })), null);
  assert.equal(commandText(ev({ event_type: 'connect' })), null);
  assert.equal(commandText(ev({ fields: { command: 'x'.repeat(5000) } }))!.length, 1024);
});

test('the hop path is bounded and keeps the latest hops; internal deckies are never hops', () => {
  const events: ProfileEvent[] = [];
  for (let i = 0; i < MAX_HOPS + 50; i++) events.push(ev({ ts: at(i), decky: i % 2 ? 'a' : 'b', event_type: 'connect' }));
  events.push(ev({ ts: at(1000), decky: 'decnet-prober', event_type: 'probe' }));
  const m = mergeProfile('192.0.2.1', undefined, undefined, events);
  const hops = m.attacker.traversal_path!.split(' → ');
  assert.equal(hops.length, MAX_HOPS);
  assert.equal(hops[0], '…');
  assert.equal(hops.at(-1), 'a');
  assert.deepEqual(m.attacker.deckies, ['b', 'a']);
  assert.equal(m.firstSighting, true);
});
