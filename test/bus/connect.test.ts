// openBus(): URL forms, clear errors, and the import floor (a transport is loaded only when named).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { openBus, openMemberBus } from '../../src/bus/connect.ts';
import { startBroker } from '../../src/bus/broker.ts';
import { Router } from '../../src/bus/router.ts';
import { captureLogs, nextWithin, tempSocketDir } from './helpers.ts';

captureLogs();

test('unknown or malformed bus URLs get an error that lists the valid forms', async () => {
  await assert.rejects(openBus('amqp://localhost'), /unknown scheme amqp:.*unix:, unix:\/absolute\/path\.sock, local:, nats:\/\/host:port/);
  await assert.rejects(openBus('unix:relative/bus.sock'), /absolute socket path/);
  await assert.rejects(openBus('bus.sock'), /has no scheme/);
});

test('unix: with an explicit path, DECNET_BUS_SOCKET for a bare unix:, and local:', async () => {
  const tmp = tempSocketDir();
  const broker = await startBroker({ path: tmp.path, router: new Router() });
  const saved = process.env.DECNET_BUS_SOCKET;
  try {
    const a = await openBus(`unix:${tmp.path}`);
    assert.equal(a.url, `unix:${tmp.path}`);
    process.env.DECNET_BUS_SOCKET = tmp.path;
    const b = await openMemberBus('cli');
    assert.equal(b.connection.url, `unix:${tmp.path}`);
    const sub = a.member('listener').subscribe('cli.said');
    assert.equal(await a.flush(), true);
    b.publish('cli.said', { hello: true });
    assert.deepEqual((await nextWithin(sub)).payload, { hello: true });
    await b.close();
    assert.equal(b.connection.connected(), false, 'closing a member bus closes its connection');
    await a.close();
    const local = await openBus('local:');
    assert.equal(local.url, 'local:');
    assert.equal(await local.flush(), true);
    await local.close();
  } finally {
    if (saved === undefined) delete process.env.DECNET_BUS_SOCKET;
    else process.env.DECNET_BUS_SOCKET = saved;
    await broker.close();
    tmp.cleanup();
  }
});

test('the NATS client library is loaded only by a nats:// connection', () => {
  const connectUrl = new URL('../../src/bus/connect.ts', import.meta.url).href;
  // A child process records every module it resolves, opens local: and publishes, then reports.
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
    const { openBus } = await import(${JSON.stringify(connectUrl)});
    const conn = await openBus(process.argv[1]);
    conn.member('m').publish('floor.check', { ok: true });
    await conn.close();
    process.stdout.write(JSON.stringify(seen));
  `;
  const run = (url: string): string[] =>
    JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script, url], { encoding: 'utf8', env: { ...process.env, DECNET_LOG_LEVEL: 'error' } })) as string[];
  const local = run('local:');
  assert.ok(local.some((u) => u.endsWith('/src/bus/local.ts')));
  assert.equal(local.filter((u) => u.includes('@nats-io') || u.endsWith('/src/bus/nats.ts') || u.endsWith('/src/bus/unix-client.ts')).length, 0, local.join('\n'));
  const nats = run('nats://127.0.0.1:1');
  assert.ok(nats.some((u) => u.endsWith('/src/bus/nats.ts')));
  assert.equal(nats.filter((u) => u.endsWith('/src/bus/unix-client.ts') || u.endsWith('/src/bus/broker.ts')).length, 0);
});
