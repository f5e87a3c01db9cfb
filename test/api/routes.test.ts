// Walks the OpenAPI document the API serves and checks every operation against the running server:
// security is declared on everything but the few public routes, a missing token is 401, a
// must-change-password token is 403, a viewer on an admin route is 403, and malformed paths,
// queries and bodies are refused with the documented codes. List routes answer with the paging
// envelope.
import { VIEWER_PASSWORD, apiEnv, startApi, type RunningApi } from './harness.ts';
const env = apiEnv();
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

let api: RunningApi;
let doc: any;

before(async () => {
  api = await startApi();
  const r = await api.client.get('/api/v1/openapi.json');
  assert.equal(r.status, 200);
  doc = r.body;
});

after(async () => {
  await api.stop();
  env.cleanup();
});

const PUBLIC = new Set(['POST /api/v1/auth/login', 'GET /api/v1/health', 'GET /api/v1/openapi.json']);
const TICKET = new Set(['GET /api/v1/stream']);
const SAMPLE_UUID = '01900000-0000-7000-8000-000000000000';

interface Op {
  method: string;
  path: string;
  op: any;
}

function operations(): Op[] {
  const out: Op[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) for (const [method, op] of Object.entries<any>(item)) out.push({ method: method.toUpperCase(), path, op });
  return out;
}

function sampleFor(schema: any): string {
  if (schema.enum) return schema.enum[0];
  if (schema.format === 'uuid') return SAMPLE_UUID;
  if (schema.type === 'integer') return String(schema.minimum ?? 1);
  if (typeof schema.pattern === 'string' && schema.pattern.includes('a-z')) return 'sample';
  return 'sample';
}

function concrete(o: Op): string {
  let path = o.path;
  for (const p of o.op.parameters.filter((p: any) => p.in === 'path')) path = path.replace(`{${p.name}}`, encodeURIComponent(sampleFor(p.schema)));
  return path;
}

test('the document lists every route once, with ids, tags and responses', () => {
  const ops = operations();
  assert.ok(ops.length >= 40, `expected the whole API, found ${ops.length} operations`);
  const ids = ops.map((o) => o.op.operationId);
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
  for (const o of ops) {
    assert.ok(o.op.summary, `${o.method} ${o.path} has a summary`);
    assert.ok(o.op.tags?.length === 1, `${o.method} ${o.path} has a tag`);
    assert.ok(Object.keys(o.op.responses).some((s) => s.startsWith('2')), `${o.method} ${o.path} documents success`);
    assert.ok(o.op.responses['500'], `${o.method} ${o.path} documents 500`);
  }
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(doc.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
});

test('every route but login, health, the document and the ticket stream requires a bearer token (401 without)', async () => {
  for (const o of operations()) {
    const key = `${o.method} ${o.path}`;
    if (PUBLIC.has(key)) {
      assert.deepEqual(o.op.security, [], `${key} is public`);
      continue;
    }
    if (TICKET.has(key)) {
      assert.deepEqual(o.op.security, [], `${key} takes a ticket, not a token`);
      assert.ok(o.op.parameters.some((p: any) => p.name === 'ticket' && p.in === 'query' && p.required), `${key} documents its ticket`);
      const r = await api.client.get(concrete(o));
      assert.equal(r.status, 401, `${key} without a ticket`);
      continue;
    }
    assert.deepEqual(o.op.security, [{ bearerAuth: [] }], `${key} declares bearer security`);
    assert.ok(['self', 'viewer', 'admin'].includes(o.op['x-decnet-auth']), `${key} has an auth level`);
    assert.ok(o.op.responses['401'], `${key} documents 401`);
    const r = await api.client.call(o.method, concrete(o));
    assert.equal(r.status, 401, `${key} without a token: ${r.text}`);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer', key);
    const bogus = await api.client.call(o.method, concrete(o), { token: 'x.y.z' });
    assert.equal(bogus.status, 401, `${key} with a bogus token`);
  }
});

test('roles: viewers get 403 on admin routes; a must-change-password token gets 403 everywhere but self routes', async () => {
  let admin = 0;
  let viewer = 0;
  for (const o of operations()) {
    const key = `${o.method} ${o.path}`;
    const level = o.op['x-decnet-auth'];
    if (!level || level === 'public' || level === 'ticket') continue;
    const path = concrete(o);
    if (key === 'POST /api/v1/auth/logout') continue; // would end the session the walk uses (auth.test.ts covers it)
    const fresh = await api.client.call(o.method, path, { token: api.fresh });
    if (level === 'self') assert.notEqual(fresh.status, 403, `${key} works before the password change`);
    else {
      assert.equal(fresh.status, 403, `${key} needs a changed password`);
      assert.match(fresh.body.detail, /password change required/);
    }
    if (level === 'admin') {
      admin++;
      assert.ok(o.op.responses['403'], `${key} documents 403`);
      const r = await api.client.call(o.method, path, { token: api.viewer });
      assert.equal(r.status, 403, `${key} refuses a viewer`);
      assert.match(r.body.detail, /admin role/);
    } else if (level === 'viewer' && o.method === 'GET') {
      viewer++;
      const r = await api.client.call(o.method, path, { token: api.viewer });
      assert.ok(![401, 403, 500].includes(r.status), `${key} serves a viewer (got ${r.status} ${r.text.slice(0, 200)})`);
    }
  }
  assert.ok(admin >= 11, `admin routes checked: ${admin}`);
  assert.ok(viewer >= 20, `viewer routes checked: ${viewer}`);
});

test('malformed path parameters, unknown or mistyped query parameters are refused with 422', async () => {
  let checked = 0;
  for (const o of operations()) {
    const key = `${o.method} ${o.path}`;
    if (PUBLIC.has(key) || TICKET.has(key) || o.op['x-decnet-auth'] === 'self') continue;
    const token = api.admin;
    const params = o.op.parameters as any[];
    const query = params.filter((p) => p.in === 'query');
    const unknown = await api.client.call(o.method, `${concrete(o)}?definitely_not_a_param=1`, { token });
    assert.equal(unknown.status, 422, `${key} refuses an unknown query parameter: ${unknown.text}`);
    assert.match(unknown.body.detail, /definitely_not_a_param/);
    for (const p of query) {
      const bad = p.schema.type === 'integer' || p.schema.type === 'boolean' ? 'not-a-value' : p.schema.type === 'array' ? undefined : 'x'.repeat((p.schema.maxLength ?? 64) + 1);
      if (bad === undefined) continue;
      const r = await api.client.call(o.method, `${concrete(o)}?${p.name}=${encodeURIComponent(bad)}`, { token });
      assert.equal(r.status, 422, `${key} ?${p.name}=${bad.slice(0, 20)}: ${r.text.slice(0, 200)}`);
      assert.equal(r.body.errors[0].at, `query.${p.name}`);
      checked++;
    }
    for (const p of params.filter((p) => p.in === 'path')) {
      const bad = p.schema.enum ? 'not-one-of-them' : '!!' + 'x'.repeat(200);
      const r = await api.client.call(o.method, o.path.replace(`{${p.name}}`, encodeURIComponent(bad)).replace(/\{[^}]+\}/g, (m) => encodeURIComponent(sampleFor(params.find((q) => `{${q.name}}` === m).schema))), { token });
      assert.equal(r.status, 422, `${key} with path ${p.name}=${bad.slice(0, 20)}: ${r.text.slice(0, 200)}`);
      checked++;
    }
    if (query.some((p) => p.name === 'limit')) {
      for (const v of ['0', '-1', '100000', '1.5']) {
        const r = await api.client.call(o.method, `${concrete(o)}?limit=${v}`, { token });
        assert.equal(r.status, 422, `${key} ?limit=${v}`);
      }
      const dup = await api.client.call(o.method, `${concrete(o)}?offset=1&offset=2`, { token });
      assert.equal(dup.status, 422, `${key} refuses a repeated parameter`);
    }
  }
  assert.ok(checked > 40, `checked ${checked} parameters`);
});

test('bodies: wrong media type 415, broken JSON 400, schema violations 422, too large 413, none where none is taken', async () => {
  let checked = 0;
  const fresh = await api.client.login('fresh', VIEWER_PASSWORD);
  for (const o of operations()) {
    const key = `${o.method} ${o.path}`;
    const token = o.path.includes('/auth/') ? fresh : api.admin;
    const path = concrete(o);
    if (!o.op.requestBody) {
      if (o.method === 'GET' || key === 'POST /api/v1/auth/logout') continue;
      const r = await api.client.call(o.method, path, { token, body: { unexpected: true } });
      assert.ok([400, 404].includes(r.status), `${key} takes no body (got ${r.status})`);
      continue;
    }
    checked++;
    const asText = await api.client.call(o.method, path, { token, raw: '{}', headers: { 'content-type': 'text/plain' } });
    assert.equal(asText.status, 415, `${key} wants JSON`);
    const broken = await api.client.call(o.method, path, { token, raw: '{"a":', headers: { 'content-type': 'application/json' } });
    assert.equal(broken.status, 400, `${key} broken JSON`);
    assert.match(broken.body.detail, /not valid JSON/);
    const notObject = await api.client.call(o.method, path, { token, body: [1, 2, 3] });
    assert.equal(notObject.status, 422, `${key} wants an object`);
    const extra = await api.client.call(o.method, path, { token, body: { no_such_member: 1 } });
    assert.equal(extra.status, 422, `${key} refuses unknown members`);
    assert.ok(extra.body.errors.some((e: any) => e.at === 'body.no_such_member'), key);
    const huge = await api.client.call(o.method, path, { token, raw: JSON.stringify({ x: 'y'.repeat(1024 * 1024) }), headers: { 'content-type': 'application/json' } });
    assert.equal(huge.status, 413, `${key} bounds the body`);
    const required = o.op.requestBody.content['application/json'].schema.required ?? [];
    if (required.length > 0) {
      const empty = await api.client.call(o.method, path, { token, body: {} });
      assert.equal(empty.status, 422, `${key} empty body`);
      for (const name of required) assert.ok(empty.body.errors.some((e: any) => e.at === `body.${name}`), `${key} says ${name} is required`);
    }
  }
  assert.ok(checked >= 7, `routes with bodies: ${checked}`);
});

test('list routes answer with {total, limit, offset, data} and honour limit and offset', async () => {
  let lists = 0;
  for (const o of operations()) {
    if (o.method !== 'GET') continue;
    const schema = o.op.responses['200']?.content?.['application/json']?.schema;
    if (!schema?.properties?.data || !schema.properties.total) continue;
    lists++;
    const token = o.op['x-decnet-auth'] === 'admin' ? api.admin : api.viewer;
    const r = await api.client.call('GET', `${concrete(o)}?limit=1&offset=0`, { token });
    if (r.status === 404) continue; // a sub-list of a resource that does not exist
    assert.equal(r.status, 200, `${o.path}: ${r.text}`);
    assert.equal(r.body.limit, 1);
    assert.equal(r.body.offset, 0);
    assert.ok(Number.isInteger(r.body.total));
    assert.ok(Array.isArray(r.body.data) && r.body.data.length <= 1);
  }
  assert.ok(lists >= 8, `list routes: ${lists}`);
});

test('unknown endpoints are 404, wrong methods 405 with Allow, and errors are always {detail}', async () => {
  const r = await api.client.get('/api/v1/nope', api.admin);
  assert.equal(r.status, 404);
  assert.match(r.body.detail, /no such endpoint/);
  const m = await api.client.call('DELETE', '/api/v1/logs', { token: api.admin });
  assert.equal(m.status, 405);
  assert.equal(m.headers.get('allow'), 'GET');
  const health = await api.client.get('/api/v1/health');
  assert.equal(health.status, 200);
  assert.deepEqual(Object.keys(health.body.components).sort(), ['bus', 'database']);
  assert.equal(health.body.status, 'healthy');
  assert.equal(health.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(health.headers.get('cache-control'), 'no-store');
});
