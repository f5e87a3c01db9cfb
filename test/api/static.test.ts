// The dashboard's files: served from the web root with the right types and cache headers, the
// single-page-app fallback, nothing outside the root whatever the path says, and a page that
// explains how to build the dashboard when it is missing.
import { apiEnv, startApi, type RunningApi } from './harness.ts';
const env = apiEnv();
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';

let api: RunningApi;
const web = join(env.root, 'web');

before(async () => {
  api = await startApi({ users: false });
});

after(async () => {
  await api.stop();
  env.cleanup();
});

/** A request with the path exactly as given (fetch would normalise dot segments away). */
function raw(path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(api.base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('without a build, / explains how to build the dashboard', async () => {
  const r = await raw('/');
  assert.equal(r.status, 200);
  assert.match(r.body, /dashboard is not built/);
  assert.match(r.body, /web\/dist|DECNET_WEB_ROOT/);
  assert.equal((await raw('/attackers')).status, 404);
});

test('serves the build: types, caching, SPA fallback, conditional requests', async () => {
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>DECNET</title><div id="root"></div>');
  writeFileSync(join(web, 'assets', 'index-abc123.js'), 'console.log("app")');
  writeFileSync(join(web, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(join(web, 'favicon.svg'), '<svg/>');
  const index = await raw('/');
  assert.equal(index.status, 200);
  assert.match(index.body, /id="root"/);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
  assert.equal(index.headers['x-frame-options'], 'DENY');
  const js = await raw('/assets/index-abc123.js');
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal((await raw('/assets/index-abc123.css')).headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await raw('/favicon.svg')).headers['content-type'], 'image/svg+xml');
  const route = await raw('/attackers/0190-abc?tab=ttp');
  assert.equal(route.status, 200);
  assert.match(route.body, /id="root"/, 'an app route gets index.html');
  assert.equal((await raw('/assets/missing-file.js')).status, 404, 'a missing file is a real 404');
  const etag = String(js.headers.etag);
  assert.equal((await raw('/assets/index-abc123.js', 'GET', { 'if-none-match': etag })).status, 304);
  const head = await raw('/', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await raw('/', 'POST')).status, 405);
});

test('nothing outside the web root is reachable, whatever the path', async () => {
  writeFileSync(join(env.root, 'secret.txt'), 'TOP SECRET');
  writeFileSync(join(web, '.env'), 'TOP SECRET');
  symlinkSync(join(env.root, 'secret.txt'), join(web, 'leak.txt'));
  const attempts = [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/.env',
    '/assets/%2e%2e/.env',
    '/leak.txt',
    '/%00',
    '/%',
    '//etc/passwd',
  ];
  for (const path of attempts) {
    const r = await raw(path);
    assert.ok(!r.body.includes('TOP SECRET'), `${path} leaked`);
    assert.ok(!r.body.includes('root:'), `${path} leaked /etc/passwd`);
    assert.ok([400, 404].includes(r.status) || (r.status === 200 && r.body.includes('id="root"')), `${path}: ${r.status}`);
  }
});

test('API paths never fall back to the dashboard', async () => {
  const r = await raw('/api/v1/does-not-exist');
  assert.equal(r.status, 404);
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
});
