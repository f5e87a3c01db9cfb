import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateIps, formatIpv4, parseIpv4, parseSubnet } from '../../src/deploy/ip.ts';

test('parses subnets and rejects what is not a network address', () => {
  const s = parseSubnet('192.168.1.0/24');
  assert.equal(s.cidr, '192.168.1.0/24');
  assert.equal(formatIpv4(s.broadcast), '192.168.1.255');
  assert.equal(s.size, 254);
  assert.throws(() => parseSubnet('192.168.1.5/24'), /not a network address; did you mean 192\.168\.1\.0\/24\?/);
  assert.throws(() => parseSubnet('192.168.1.0'), /not an IPv4 subnet/);
  assert.throws(() => parseSubnet('192.168.1.0/31'), /leaves no room/);
  assert.throws(() => parseSubnet('256.1.1.0/24'), /not an IPv4 subnet/);
  assert.throws(() => parseSubnet('10.0.0.0/4'), /implausibly large/);
  assert.equal(parseIpv4('010.1.1.1'), undefined, 'leading zeros are ambiguous (octal) and refused');
});

test('allocates ascending host addresses, skipping network, gateway, broadcast and taken ones', () => {
  const s = parseSubnet('10.0.0.0/29'); // hosts .1 .. .6
  assert.deepEqual(allocateIps(s, 3), ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  assert.deepEqual(allocateIps(s, 3, { gateway: '10.0.0.6', reserved: ['10.0.0.2'] }), ['10.0.0.1', '10.0.0.3', '10.0.0.4']);
  assert.deepEqual(allocateIps(s, 5, { gateway: '10.0.0.6' }), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
  assert.throws(() => allocateIps(s, 6, { gateway: '10.0.0.6' }), /need 6, found 5/);
  assert.deepEqual(allocateIps(s, 2, { start: '10.0.0.4' }), ['10.0.0.4', '10.0.0.5']);
  assert.throws(() => allocateIps(s, 1, { start: '10.0.0.7' }), /not a host address/);
});

test('allocation in a large subnet stops as soon as it has enough', () => {
  const s = parseSubnet('10.0.0.0/8');
  const started = process.hrtime.bigint();
  const ips = allocateIps(s, 1000);
  assert.equal(ips.length, 1000);
  assert.equal(ips[0], '10.0.0.2');
  assert.equal(ips[999], '10.0.3.233');
  assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
});
