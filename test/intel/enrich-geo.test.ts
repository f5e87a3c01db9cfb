// Offline country and AS look-ups: the shipped ip-location-db tables answer for well-known
// networks; special-purpose addresses are 'private' without a look-up; a dataset with nested
// ranges (as published rows sometimes are) resolves to the most specific one; AS names keep their
// CSV quoting; a refreshed file is read again; a malformed one fails with its file and line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GeoIndex, cidr4 } from '../../src/intel/enrich/geo.ts';
import { classifyAddress, ipv6ToBigInt } from '../../src/core/special-addresses.ts';

const dir = mkdtempSync(join(tmpdir(), 'decnet-geo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the shipped tables locate well-known networks', async () => {
  const cacheDir = join(dir, 'cache');
  const geo = new GeoIndex({ country: true, asn: true, cacheDir });
  const google = await geo.lookup('8.8.8.8');
  assert.deepEqual(google, { kind: 'public', answer: { country_code: 'US', asn: 15169, as_name: 'Google LLC', bgp_prefix: '8.8.8.0/24' } });
  const cloudflare = await geo.lookup('1.1.1.1');
  assert.equal(cloudflare?.kind === 'public' && cloudflare.answer.asn, 13335);
  const v6 = await geo.lookup('2001:4860:4860::8888');
  assert.equal(v6?.kind === 'public' && v6.answer.asn, 15169);
  assert.deepEqual(await geo.lookup('::ffff:8.8.8.8'), google, 'an IPv4-mapped address is its IPv4 host');
  const stats = geo.snapshot();
  assert.deepEqual(Object.keys(stats.open).sort(), ['asn4', 'asn6', 'country4', 'country6']);
  assert.ok(stats.open.country4!.ranges > 100_000 && stats.open.asn4!.ranges > 100_000);
  const held = Object.values(stats.open).reduce((n, t) => n + t.memory_bytes, 0);
  assert.ok(held < 2 * 1024 * 1024, `the open tables hold ${held} bytes in memory`);
  assert.deepEqual(Object.keys(stats.compiled).sort(), ['asn4', 'asn6', 'country4', 'country6']);
  assert.equal(geo.release(true), 4);
  assert.deepEqual(geo.snapshot().open, {});
  // Another index (another process) reuses the compiled files and answers the same.
  const again = new GeoIndex({ country: true, asn: true, cacheDir });
  assert.deepEqual(await again.lookup('8.8.8.8'), google);
  assert.deepEqual(await again.lookup('2001:4860:4860::8888'), v6);
  assert.deepEqual(again.snapshot().compiled, {}, 'nothing compiled twice');
  again.release(true);
});

test('special-purpose addresses are private and load no table', async () => {
  const geo = new GeoIndex({ cacheDir: join(dir, 'unused') });
  for (const [ip, cls] of [
    ['10.1.2.3', 'private'],
    ['172.31.255.1', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'shared'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['0.0.0.0', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fd12:3456::1', 'unique-local'],
    ['2001:db8::1', 'documentation'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['2002:c0a8:0101::1', 'private'],
  ] as const) {
    assert.deepEqual(await geo.lookup(ip), { kind: 'private', class: cls }, ip);
  }
  assert.equal(await geo.lookup('not an address'), undefined);
  assert.deepEqual(geo.snapshot().open, {}, 'nothing was loaded');
  assert.equal(classifyAddress('93.184.216.34'), 'public');
  assert.equal(classifyAddress('2606:4700::1'), 'public');
  assert.equal(classifyAddress('4000::1'), 'reserved');
});

function num(ip: string): string {
  const p = ip.split('.').map(Number);
  return String(((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!);
}

test('nested ranges resolve to the most specific one; quoted AS names survive', async () => {
  writeFileSync(
    join(dir, 'geo-whois-asn-country-ipv4-num.csv'),
    [
      `${num('11.0.0.0')},${num('11.0.255.255')},DE`,
      `${num('11.0.16.0')},${num('11.0.16.255')},BE`, // inside the DE range
      `${num('11.0.16.128')},${num('11.0.16.128')},LU`, // inside BE
      `${num('12.0.0.0')},${num('12.0.0.255')},FR`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'asn-ipv4-num.csv'),
    [`${num('11.0.0.0')},${num('11.0.255.255')},64500,"Example, ""Quoted"" Networks"`, `${num('12.0.0.0')},${num('12.0.1.255')},64501,Plain Name`].join('\n') + '\n',
  );
  writeFileSync(join(dir, 'geo-whois-asn-country-ipv6-num.csv'), `${ipv6ToBigInt('2a01::')},${ipv6ToBigInt('2a01:0:ffff:ffff:ffff:ffff:ffff:ffff')},NL\n`);
  writeFileSync(join(dir, 'asn-ipv6-num.csv'), `${ipv6ToBigInt('2a01::')},${ipv6ToBigInt('2a01::ffff')},64502,Six\n`);
  const geo = new GeoIndex({ dir, country: true, asn: true, cacheDir: join(dir, 'cache-synthetic') });
  const cc = async (ip: string) => {
    const r = await geo.lookup(ip);
    return r?.kind === 'public' ? r.answer.country_code : r?.kind;
  };
  assert.equal(await cc('11.0.0.1'), 'DE');
  assert.equal(await cc('11.0.16.1'), 'BE');
  assert.equal(await cc('11.0.16.128'), 'LU');
  assert.equal(await cc('11.0.16.129'), 'BE', 'the middle range resumes after the innermost');
  assert.equal(await cc('11.0.17.0'), 'DE', 'the outer range resumes after the middle one');
  assert.equal(await cc('11.1.0.0'), null, 'a gap has no answer');
  const r = await geo.lookup('11.0.16.200');
  assert.deepEqual(r, { kind: 'public', answer: { country_code: 'BE', asn: 64500, as_name: 'Example, "Quoted" Networks', bgp_prefix: '11.0.0.0/16' } });
  const plain = await geo.lookup('12.0.1.7');
  assert.equal(plain?.kind === 'public' && plain.answer.bgp_prefix, '12.0.0.0/23');
  const six = await geo.lookup('2a01::10');
  assert.deepEqual(six, { kind: 'public', answer: { country_code: 'NL', asn: 64502, as_name: 'Six', bgp_prefix: '2a01::/112' } });

  // A refreshed file is read again after release() notices the change.
  writeFileSync(join(dir, 'geo-whois-asn-country-ipv4-num.csv'), `${num('11.0.0.0')},${num('11.255.255.255')},JP\n`);
  const later = new Date(Date.now() + 5000);
  utimesSync(join(dir, 'geo-whois-asn-country-ipv4-num.csv'), later, later);
  assert.equal(geo.release(), 1);
  assert.equal(await cc('11.0.16.1'), 'JP');
});

test('a malformed dataset names its file and line', async () => {
  const bad = mkdtempSync(join(dir, 'bad-'));
  writeFileSync(join(bad, 'geo-whois-asn-country-ipv4-num.csv'), `${num('11.0.0.0')},${num('11.0.0.255')},DE\n11.0.1.0,11.0.1.255,FR\n`);
  const geo = new GeoIndex({ dir: bad, country: true, asn: false, cacheDir: join(bad, 'cache') });
  await assert.rejects(geo.lookup('11.0.0.1'), /geo-whois-asn-country-ipv4-num\.csv:2: not an IPv4 range/);
  // The compiler the worker runs as a child process reports the same, and exits non-zero.
  const { spawnSync } = await import('node:child_process');
  const { CLI_SOURCE } = await import('../helpers/env.ts');
  const child = spawnSync(process.execPath, [CLI_SOURCE, 'geo-compile', 'country4', join(bad, 'geo-whois-asn-country-ipv4-num.csv'), join(bad, 'out.bin')], { encoding: 'utf8' });
  assert.equal(child.status, 2);
  assert.match(child.stderr, /geo-whois-asn-country-ipv4-num\.csv:2: not an IPv4 range/);
  const missing = new GeoIndex({ dir: mkdtempSync(join(dir, 'empty-')), country: true, asn: false, cacheDir: join(bad, 'cache') });
  await assert.rejects(missing.lookup('11.0.0.1'), /offline dataset file .* is missing/);
});

test('the CIDR block around an address stays inside its range', () => {
  const n = (ip: string) => Number(num(ip));
  assert.equal(cidr4(n('10.0.2.5'), n('10.0.0.0'), n('10.0.2.255')), '10.0.2.0/24');
  assert.equal(cidr4(n('10.0.1.5'), n('10.0.0.0'), n('10.0.2.255')), '10.0.0.0/23');
  assert.equal(cidr4(n('10.0.0.7'), n('10.0.0.7'), n('10.0.0.7')), '10.0.0.7/32');
});
