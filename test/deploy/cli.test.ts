// `decnet deploy`, `teardown` and the listings, run as real commands in private data/run dirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { CLI_SOURCE, startProcess, testDirs, waitFor } from '../helpers/env.ts';

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const p = startProcess([CLI_SOURCE, ...args], env);
  return p.exited.then(({ code }) => ({ code, out: p.output() }));
}

/** A /24 of loopback addresses no other test uses. */
function freshSubnet(): string {
  return `127.${200 + (process.pid % 50)}.${Math.floor(Math.random() * 256)}.0/24`;
}

test('deploy --dry-run prints the plan as a table and JSON and writes nothing', async (t) => {
  const dirs = testDirs();
  t.after(() => dirs.cleanup());
  const subnet = freshSubnet();
  const prefix = subnet.replace(/\.0\/24$/, '.');
  const table = await run(['deploy', '--deckies', '2', '--archetype', 'database-server', '--subnet', subnet, '--dry-run'], dirs.env);
  assert.equal(table.code, 0, table.out);
  assert.match(table.out, /DECKY\s+IP\s+HOSTNAME\s+PERSONA\s+SERVICES/);
  assert.match(table.out, new RegExp(`decky-01\\s+${prefix.replace(/\./g, '\\.')}2\\s+SRV-[A-Z]+-\\d\\d\\s+database-server \\(debian\\)\\s+mysql:3306 postgres:5432 redis:6379`));
  assert.match(table.out, /decky-02 .*database-server \(ubuntu22\)/);
  assert.match(table.out, /Dry run: nothing written/);
  assert.equal(existsSync(join(dirs.env.DECNET_DATA_DIR!, 'deploy', 'plan.json')), false);

  const json = await run(['deploy', '--deckies', '3', '--services', 'ssh,http', '--subnet', subnet, '--gateway', `${prefix}2`, '--dry-run', '--json'], dirs.env);
  assert.equal(json.code, 0, json.out);
  const { plan } = JSON.parse(json.out);
  assert.deepEqual(plan.deckies.map((d: { ip: string }) => d.ip), [`${prefix}1`, `${prefix}3`, `${prefix}4`]);
  assert.equal(plan.deckies[0].persona.archetype, 'linux-server');
});

test('deploy reports bad input with a clear message and exit code 2', async (t) => {
  const dirs = testDirs();
  t.after(() => dirs.cleanup());
  const ini = join(dirs.root, 'fleet.ini');
  writeFileSync(ini, '[general]\nnet = 10.1.0.0/24\n\n[web]\nservices = ssh, gopher\n');
  const bad = await run(['deploy', '--config', ini, '--dry-run'], dirs.env);
  assert.equal(bad.code, 2);
  assert.match(bad.out, new RegExp(`${ini.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5: unknown service\\(s\\) in \\[web\\]: gopher`));
  const none = await run(['deploy', '--deckies', '2'], dirs.env);
  assert.equal(none.code, 2);
  assert.match(none.out, /--archetype A, --services a,b or --randomize-services/);
  const both = await run(['deploy', '--config', ini, '--deckies', '2'], dirs.env);
  assert.equal(both.code, 2);
  assert.match(both.out, /--deckies cannot be combined with --config/);
  const teardown = await run(['teardown'], dirs.env);
  assert.equal(teardown.code, 2);
  assert.match(teardown.out, /either --all or --id NAME/);
});

test('deploy starts the decoy host, which runs the plan; teardown removes deckies from it', { timeout: 60_000 }, async (t) => {
  const dirs = testDirs();
  let hostPid: number | undefined;
  t.after(() => {
    if (hostPid) {
      try {
        process.kill(hostPid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    dirs.cleanup();
  });
  const subnet = freshSubnet();
  const ini = join(dirs.root, 'fleet.ini');
  writeFileSync(ini, `[general]\nnet = ${subnet}\n\n[cache]\nservices = redis\namount = 2\n\n[cache.redis]\nversion = 6.2.14\n`);
  const deployed = await run(['deploy', '--config', ini, '--json'], dirs.env);
  assert.equal(deployed.code, 0, deployed.out);
  const result = JSON.parse(deployed.out);
  hostPid = result.host_pid;
  assert.equal(result.started, true);
  assert.deepEqual(result.deckies.map((d: { name: string; state: string }) => `${d.name}:${d.state}`), ['cache-01:up', 'cache-02:up']);
  const plan = JSON.parse(readFileSync(join(dirs.env.DECNET_DATA_DIR!, 'deploy', 'plan.json'), 'utf8'));
  assert.deepEqual(plan.deckies[0].services, [{ name: 'redis', config: { version: '6.2.14' } }]);

  const ip1 = result.deckies[0].ip;
  const reply = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: ip1, port: 6379 }, () => s.write('PING\r\n'));
    s.once('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.once('error', reject);
  });
  assert.match(reply, /PONG/);

  const removed = await run(['teardown', '--id', 'cache-01', '--json'], dirs.env);
  assert.equal(removed.code, 0, removed.out);
  assert.deepEqual(JSON.parse(removed.out).remaining, ['cache-02']);
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => connect({ host: ip1, port: 6379 }).once('error', resolve));
  assert.equal(err.code, 'ECONNREFUSED');

  const unknown = await run(['teardown', '--id', 'nope'], dirs.env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /no decky named nope in the plan \(deckies: cache-02\)/);

  const all = await run(['teardown', '--all'], dirs.env);
  assert.equal(all.code, 0, all.out);
  assert.match(all.out, /Removed 1 decky\(ies\): cache-02; 0 remain/);

  process.kill(hostPid!, 'SIGTERM');
  await waitFor(() => !existsSync(join(dirs.env.DECNET_RUN_DIR!, 'deckies', 'state.json')), 15_000, 'the decoy host to stop');
  hostPid = undefined;
  const log = readFileSync(join(dirs.env.DECNET_DATA_DIR!, 'events', 'decoy.log'), 'utf8');
  assert.match(log, /decky="cache-01" service="redis" event="connect"/);
});

test('services, archetypes and distros list the catalog and personas', async (t) => {
  const dirs = testDirs();
  t.after(() => dirs.cleanup());
  const services = await run(['services', '--json'], dirs.env);
  const list = JSON.parse(services.out) as { name: string; ports: string[] }[];
  assert.ok(list.some((s) => s.name === 'ssh' && s.ports.includes('22/tcp')));
  const archetypes = await run(['archetypes'], dirs.env);
  assert.match(archetypes.out, /domain-controller\s+windows\s+ldap,smb,rdp,llmnr/);
  const distros = await run(['distros', '--json'], dirs.env);
  const slugs = (JSON.parse(distros.out) as { slug: string }[]).map((d) => d.slug);
  for (const s of ['debian', 'ubuntu22', 'ubuntu20', 'rocky9', 'centos7', 'alpine', 'fedora', 'kali', 'arch']) assert.ok(slugs.includes(s), s);
});
