import { test } from 'node:test';
import assert from 'node:assert/strict';
import { personaFacts } from '../../src/deckies/personas/facts.ts';
import { buildPersona } from '../../src/deckies/personas/build.ts';
import { ARCHETYPES } from '../../src/deckies/personas/archetypes.ts';
import { DISTROS, WINDOWS_BUILDS, findDistro } from '../../src/deckies/personas/distros.ts';
import { generateHostname } from '../../src/deckies/personas/hostname.ts';
import { serviceNames } from '../../src/deckies/catalog.ts';

test('the original fifteen archetypes and nine distros exist, each consistent', () => {
  assert.equal(ARCHETYPES.length, 15);
  assert.equal(DISTROS.length, 9);
  const services = serviceNames();
  for (const a of ARCHETYPES) {
    for (const s of a.services) assert.ok(services.includes(s), `${a.slug}: unknown service ${s}`);
    for (const d of a.distros) {
      const distro = findDistro(d);
      assert.ok(distro, `${a.slug}: unknown distro ${d}`);
      assert.equal(distro.osFamily === 'windows', a.osFamily === 'windows', `${a.slug}: ${d} is the wrong OS`);
    }
  }
});

test('facts agree with each other for every distro', () => {
  for (const d of DISTROS) {
    const f = personaFacts({ hostname: 'host01.localdomain', archetype: 'linux-server', distro: d.slug, osFamily: 'linux' });
    assert.equal(f.distro, d.slug);
    assert.equal(f.shortHostname, 'host01');
    assert.equal(f.unameA, `Linux host01 ${f.kernelRelease} ${f.kernelVersion} x86_64 GNU/Linux`);
    assert.match(f.sshBanner, /^SSH-2\.0-OpenSSH_\d/);
    assert.match(f.osRelease, new RegExp(`^PRETTY_NAME="${f.prettyName.replace(/[()]/g, '\\$&')}"$`, 'm'));
    assert.match(f.osRelease, /^ID=/m);
    assert.match(f.machineId, /^[0-9a-f]{32}$/);
    assert.ok(f.bootTime < Date.now() - 3 * 86400_000);
  }
  const deb = personaFacts({ hostname: 'SRV-ECHO-42', archetype: 'linux-server', distro: 'debian', osFamily: 'linux' });
  assert.equal(deb.sshBanner, 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3');
  assert.equal(deb.prompt('root', '/root'), 'root@SRV-ECHO-42:~# ');
  assert.equal(deb.prompt('debian', '/home/debian/src'), 'debian@SRV-ECHO-42:~/src$ ');
  assert.equal(deb.prompt('debian', '/etc'), 'debian@SRV-ECHO-42:/etc$ ');
  assert.match(personaFacts({ hostname: 'k', archetype: 'linux-server', distro: 'ubuntu22', osFamily: 'linux' }).mysql, /ubuntu0\.22\.04/);
});

test('embedded and Windows personas get their own userland and banners', () => {
  const iot = personaFacts({ hostname: 'vega-42', archetype: 'iot-device', distro: 'alpine', osFamily: 'embedded' });
  assert.equal(iot.sshBanner, 'SSH-2.0-dropbear_2022.83');
  assert.equal(iot.busybox, true);
  assert.equal(iot.machine, 'armv7l');
  assert.equal(iot.prompt('root', '/root'), 'vega-42:~# ');
  const win = personaFacts({ hostname: 'WIN-ABCDEFGHIJK', archetype: 'windows-server', distro: 'win2019', osFamily: 'windows' });
  assert.deepEqual(win.windows, { productName: 'Windows Server 2019 Standard', version: '10.0.17763', build: '17763' });
  assert.equal(win.osRelease, '');
  // A distro that does not fit the OS family falls back instead of mixing Linux facts into Windows.
  const mixed = personaFacts({ hostname: 'x', archetype: 'windows-server', distro: 'debian', osFamily: 'windows' });
  assert.equal(mixed.distro, 'win2019');
  const unknown = personaFacts({ hostname: 'x', archetype: 'linux-server', distro: 'plan9', osFamily: 'linux' });
  assert.equal(unknown.distro, 'debian');
});

test('host names follow each style; personas are built from archetypes', () => {
  let i = 0;
  const r = () => ((i = (i * 7 + 3) % 100) / 100);
  assert.match(generateHostname('generic', '', r), /^SRV-[A-Z]+-\d\d$/);
  assert.match(generateHostname('rhel', '', r), /^[a-z]+\d\d\.localdomain$/);
  assert.match(generateHostname('minimal', '', r), /^[a-z]+-\d\d$/);
  assert.match(generateHostname('rolling', '', r), /^([a-z]+)-(?!\1$)[a-z]+$/);
  assert.match(generateHostname('windows', 'windows-workstation', r), /^DESKTOP-[A-Z0-9]{7}$/);
  assert.match(generateHostname('windows', 'domain-controller', r), /^DC0\d$/);
  const p = buildPersona({ archetype: 'web-server', distroIndex: 2 });
  assert.deepEqual({ ...p, hostname: '' }, { hostname: '', archetype: 'web-server', distro: 'ubuntu20', osFamily: 'linux' });
  assert.throws(() => buildPersona({ archetype: 'mainframe' }), /unknown archetype "mainframe" \(known: windows-workstation/);
  assert.throws(() => buildPersona({ archetype: 'linux-server', distro: 'win10' }), /does not fit archetype linux-server/);
  assert.ok(WINDOWS_BUILDS.every((w) => w.osFamily === 'windows'));
});
