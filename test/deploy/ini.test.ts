import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDeployIni } from '../../src/deploy/ini-config.ts';
import { buildPlan } from '../../src/deploy/build.ts';
import { ConfigError } from '../../src/core/errors.ts';

const ini = (text: string) => parseDeployIni(text.replace(/^\n/, ''), 'fleet.ini');

function fails(text: string, pattern: RegExp): void {
  assert.throws(() => ini(text), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('parses general, deckies, groups and per-service settings', () => {
  const cfg = ini(`
[general]
net = 10.20.0.0/24
gw = 10.20.0.254
interface = eth1

[web]
ip = 10.20.0.50
services = ssh, http
archetype = linux-server
distro = ubuntu22

[db]
archetype = database-server
amount = 3

[db.mysql]
version = 8.0.36

[web.ssh]
password = toor
`);
  assert.deepEqual(cfg.network, { subnet: '10.20.0.0/24', gateway: '10.20.0.254', interface: 'eth1' });
  assert.deepEqual(cfg.deckies.map((d) => d.name), ['web', 'db-01', 'db-02', 'db-03']);
  assert.deepEqual(cfg.deckies[0].services, ['ssh', 'http']);
  assert.deepEqual(cfg.deckies[0].config, { ssh: { password: 'toor' } });
  for (const d of cfg.deckies.slice(1)) assert.deepEqual(d.config, { mysql: { version: '8.0.36' } });
  assert.equal(cfg.configLines.get('db-02|mysql'), 'fleet.ini:16');

  const plan = buildPlan(cfg.deckies, cfg.network, { random: () => 0.5 });
  assert.equal(plan.subnet, '10.20.0.0/24');
  assert.equal(plan.deckies[0].ip, '10.20.0.50');
  assert.equal(plan.deckies[0].persona.distro, 'ubuntu22');
  // Auto-allocated: ascending, skipping network (.0), and the explicit .50; the gateway is .254.
  assert.deepEqual(plan.deckies.slice(1).map((d) => d.ip), ['10.20.0.1', '10.20.0.2', '10.20.0.3']);
  // Group members use the archetype's distros in turn.
  assert.deepEqual(plan.deckies.slice(1).map((d) => d.persona.distro), ['debian', 'ubuntu22', 'debian']);
  assert.deepEqual(plan.deckies[1].services, [{ name: 'mysql', config: { version: '8.0.36' } }, { name: 'postgres' }, { name: 'redis' }]);
});

test('validation errors carry the file and line number', () => {
  fails('[general]\nnet = 10.0.0.0/24\nbogus = 1\n[a]\nservices = ssh\n', /^fleet\.ini:3: unknown key 'bogus' in \[general\]/);
  fails('[a]\nservices = ssh, telnetx\n', /^fleet\.ini:2: unknown service\(s\) in \[a\]: telnetx/);
  fails('[a]\nservices = ssh\namount = 0\n', /^fleet\.ini:3: .*amount must be a positive integer/);
  fails('[a]\nservices = ssh\namount = 101\n', /^fleet\.ini:3: .*exceeds the maximum allowed \(100\)/);
  fails('[a]\nservices = ssh\namount = 2\nip = 10.0.0.5\n', /^fleet\.ini:4: .*cannot combine ip= with amount=2/);
  fails('[a]\nservices = ssh\nmutate_interval = soon\n', /^fleet\.ini:3: .*mutate_interval= must be a positive integer/);
  fails('[a]\nservices = ssh\nnmap_os = amiga\n', /^fleet\.ini:3: .*nmap_os must be one of/);
  fails('[a]\nservices = ssh\n\n[custom-foo]\nbinary = evil:latest\n', /^fleet\.ini:4: \[custom-foo\]: custom services are not supported yet/);
  fails('[a]\nservices = ssh\n[b.ssh]\npassword = x\n', /^fleet\.ini:3: \[b\.ssh\]: there is no decky or group named 'b'/);
  fails('[a.b.c]\nservices = ssh\n', /^fleet\.ini:1: .*decky names may not contain dots/);
  fails('[a]\nservices = ssh\n[a]\nservices = http\n', /^fleet\.ini:3: section \[a\] appears twice/);
  fails('services = ssh\n[a]\n', /^fleet\.ini:1: 'services' is outside any \[section\]/);
  fails('[general]\nnet = 10.0.0.0/24\n', /no decky sections/);
  fails('   \n', /empty/);
  fails('[a\nservices = ssh\n', /^fleet\.ini:1: section header is missing its closing/);
});

test('plan-building errors name the section', () => {
  const build = (text: string) => {
    const cfg = ini(text);
    return buildPlan(cfg.deckies, cfg.network);
  };
  assert.throws(() => build('[a]\narchetype = mainframe\n'), /fleet\.ini:1: unknown archetype "mainframe"/);
  assert.throws(() => build('[a]\nservices = ssh\ndistro = beos\n'), /fleet\.ini:1: unknown distro "beos"/);
  assert.throws(() => build('[a]\narchetype = windows-server\ndistro = debian\n'), /fleet\.ini:1: distro debian does not fit archetype windows-server/);
  assert.throws(() => build('[a]\n'), /fleet\.ini:1: decky a has no services/);
  assert.throws(() => build('[general]\nnet = 10.0.0.0/24\n[a]\nservices = ssh\nip = 10.9.9.9\n'), /ip 10\.9\.9\.9 is not a host address of 10\.0\.0\.0\/24/);
  assert.throws(() => build('[general]\nnet = 10.0.0.0/24\n[a]\nservices = ssh\nip = 10.0.0.9\n[b]\nservices = ssh\nip = 10.0.0.9\n'), /ip 10\.0\.0\.9 is already given to a/);
  assert.throws(() => build('[general]\nnet = 10.0.0.0/30\n[a]\nservices = ssh\namount = 3\n'), /not enough free addresses in 10\.0\.0\.0\/30: need 3, found 1/);
  assert.throws(() => build('[a]\nservices = ssh\n[a.http]\nserver_header = x\n'), /fleet\.ini:3: settings for http, but decky a does not run http/);
});

test('a decky without an archetype gets the closest one and a matching persona', () => {
  const cfg = ini('[dc]\nservices = ldap, smb, rdp\n[files]\nservices = smb, ftp, ssh\n');
  const plan = buildPlan(cfg.deckies, cfg.network);
  assert.equal(plan.deckies[0].persona.archetype, 'windows-server');
  assert.equal(plan.deckies[0].persona.osFamily, 'windows');
  assert.match(plan.deckies[0].persona.distro, /^win/);
  assert.match(plan.deckies[0].persona.hostname, /^WIN-[A-Z0-9]{11}$/);
  assert.equal(plan.deckies[1].persona.archetype, 'file-server');
});
