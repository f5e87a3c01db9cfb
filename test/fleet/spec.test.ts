import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFleetSpec, parseFleetSpec, resolveProcesses } from '../../src/fleet/spec.ts';
import { renderUnits } from '../../src/fleet/systemd.ts';

const GOOD = `# test spec
[fleet]
layout = grouped

[process bus]
workers = bus
memory_max = 64M

[process diag]
workers = idle
memory_max = 128M
old_space = 40
`;

test('the shipped spec is valid and lists the broker first', () => {
  const spec = loadFleetSpec();
  assert.equal(spec.layout, 'grouped');
  assert.equal(spec.groups[0].name, 'bus');
  assert.deepEqual(spec.groups[0].workers, ['bus']);
});

test('layouts: grouped as declared, isolated one process per worker, single one process', () => {
  const spec = parseFleetSpec(GOOD, 'good.fleet');
  assert.deepEqual(resolveProcesses(spec, 'grouped').map((p) => [p.name, p.workers]), [['bus', ['bus']], ['diag', ['idle']]]);
  assert.deepEqual(resolveProcesses(spec, 'isolated').map((p) => p.name), ['bus', 'idle']);
  const single = resolveProcesses(spec, 'single');
  assert.equal(single.length, 1);
  assert.deepEqual(single[0].workers, ['bus', 'idle']);
  assert.equal(single[0].memoryMax, 192 * 1024 * 1024);
  assert.equal(spec.groups[1].oldSpaceMb, 40);
  assert.equal(spec.groups[0].oldSpaceMb, 48); // 75% of 64M
});

const BAD: [string, RegExp][] = [
  ['[fleet]\nlayout = sideways\n[process a]\nworkers = bus\n', /:2: layout must be one of isolated, grouped, single/],
  ['[process a]\nworkers = bus, idel\n', /:2: unknown worker 'idel' \(did you mean idle\?\)/],
  ['[process a]\nworkers = bus\n[process b]\nworkers = bus\n', /:4: worker 'bus' is already hosted by process 'a' \(line 2\)/],
  ['[process a]\nworkers = bus\nmemory_max = lots\n', /:3: memory_max must be a size/],
  ['[process a]\nmemory_max = 64M\n', /:1: \[process a\] lists no workers/],
  ['[process a]\nworkers = bus\ncolour = blue\n', /:3: unknown key 'colour'/],
  ['[process a]\nworkers = bus\n[worker bus]\nheartbeet = 5\n', /:4: worker bus has no option 'heartbeet' \(did you mean heartbeat\?\)/],
  ['[process a]\nworkers = bus\n[worker bus]\nheartbeat = soon\n', /:4: heartbeat must be a number/],
  ['[process a\nworkers = bus\n', /:1: section header is missing its closing/],
  ['[gadget x]\n', /:1: section \[gadget x\]: expected/],
  ['[process a]\nworkers bus\n', /:2: expected 'key = value'/],
  ['[fleet]\n', /declares no \[process NAME\] sections/],
];

test('invalid specs are refused with the line that is wrong', () => {
  for (const [text, expected] of BAD) assert.throws(() => parseFleetSpec(text, 'bad.fleet'), expected, text);
});

test('worker options from the spec are typed', () => {
  const spec = parseFleetSpec('[process a]\nworkers = bus\n[worker bus]\nheartbeat = 5\nsocket = /tmp/x.sock\n', 's');
  assert.deepEqual(spec.workerOptions.bus, { heartbeat: 5, socket: '/tmp/x.sock' });
});

test('systemd units: one per process plus the target, with caps, restart policy and conflicts', () => {
  const spec = parseFleetSpec(GOOD, 'good.fleet');
  const units = renderUnits({ spec, layout: 'grouped', nodePath: '/opt/node', decnetPath: '/opt/decnet/bin/decnet', user: 'decnet' });
  assert.deepEqual(units.map((u) => u.file), ['decnet-bus.service', 'decnet-diag.service', 'decnet.target']);
  const diag = units[1].content;
  assert.match(diag, /^MemoryMax=134217728$/m);
  assert.match(diag, /^Restart=on-failure$/m);
  assert.match(diag, /^RuntimeDirectory=decnet$/m);
  assert.match(diag, /^Conflicts=decnet-idle\.service$/m);
  assert.match(diag, /^After=decnet-bus\.service$/m);
  assert.match(diag, /^ExecStart=\/opt\/node --max-semi-space-size=1 --expose-gc --max-old-space-size=40 \/opt\/decnet\/bin\/decnet supervise diag --layout grouped$/m);
  assert.doesNotMatch(units[0].content, /^Conflicts=/m, 'the bus unit replaces no other unit');
  assert.match(units[2].content, /^Wants=decnet-bus\.service decnet-diag\.service$/m);
  const isolated = renderUnits({ spec, layout: 'isolated', nodePath: '/n', decnetPath: '/d', user: 'decnet' });
  assert.doesNotMatch(isolated[1].content, /^Conflicts=/m, 'a single-worker unit replaces nothing');
});
