// The API's building blocks on their own: schema checks and query parsing, route matching, tokens,
// rate limits, the hashing semaphore, stream tickets, the live log filter and the OpenAPI schemas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { s, validate, parseQuery, ValidationError } from '../../src/api/http/schema.ts';
import { Router } from '../../src/api/http/router.ts';
import { route } from '../../src/api/http/route.ts';
import { issueAccessToken, verifyAccessToken, TokenError } from '../../src/api/auth/jwt.ts';
import { RateLimiter, Semaphore } from '../../src/api/auth/rate-limit.ts';
import { TicketStore } from '../../src/api/stream/tickets.ts';
import { logMatcher } from '../../src/api/stream/log-match.ts';
import { parseLogSearch } from '../../src/db/logs/search.ts';
import { toJsonSchema } from '../../src/api/openapi.ts';
import { apiConfig } from '../../src/api/config.ts';
import { TtlCache } from '../../src/api/context.ts';

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err.problems.map((p) => `${p.at}: ${p.message}`);
  }
  assert.fail('expected a validation error');
}

test('schemas: types, bounds, patterns, enums, unknown and required members, defaults', () => {
  const body = s.object(
    {
      name: s.string({ minLength: 1, maxLength: 8, pattern: '^[a-z]+$' }),
      n: s.int(1, 10, { default: 3 }),
      tags: s.array(s.string({ maxLength: 4 }), 2, { uniqueItems: true }),
      kind: s.enum(['a', 'b']),
      note: s.string({ maxLength: 20, nullable: true }),
    },
    { required: ['name'] },
  );
  assert.deepEqual(validate(body, { name: 'abc' }, 'body'), { name: 'abc', n: 3 });
  assert.deepEqual(validate(body, { name: 'abc', note: null, tags: ['x'] }, 'body'), { name: 'abc', note: null, tags: ['x'], n: 3 });
  assert.deepEqual(problems(() => validate(body, {}, 'body')), ['body.name: is required']);
  assert.match(problems(() => validate(body, { name: 'ABC' }, 'body'))[0], /expected form/);
  assert.match(problems(() => validate(body, { name: 'abcdefghi' }, 'body'))[0], /limit is 8/);
  assert.match(problems(() => validate(body, { name: 'a', n: 11 }, 'body'))[0], /from 1 to 10/);
  assert.match(problems(() => validate(body, { name: 'a', n: 1.5 }, 'body'))[0], /whole number/);
  assert.match(problems(() => validate(body, { name: 'a', n: '2' }, 'body'))[0], /whole number/);
  assert.match(problems(() => validate(body, { name: 'a', tags: ['x', 'y', 'z'] }, 'body'))[0], /limit is 2/);
  assert.match(problems(() => validate(body, { name: 'a', tags: ['x', 'x'] }, 'body'))[0], /repeat/);
  assert.match(problems(() => validate(body, { name: 'a', kind: 'c' }, 'body'))[0], /one of a, b/);
  assert.match(problems(() => validate(body, { name: 'a', extra: 1 }, 'body'))[0], /body\.extra: is not a known member/);
  assert.match(problems(() => validate(body, { name: 'a\u0000' }, 'body'))[0], /control characters/);
  assert.match(problems(() => validate(body, 'text', 'body'))[0], /expected an object/);
  assert.match(problems(() => validate(body, { name: null }, 'body'))[0], /must not be null/);
  // several problems are reported together
  assert.equal(problems(() => validate(body, { n: 0, kind: 'z' }, 'body')).length, 3);
  // __proto__ as a member name is just an unknown member, never a prototype
  assert.match(problems(() => validate(body, JSON.parse('{"name":"a","__proto__":{"x":1}}'), 'body'))[0], /__proto__/);
});

test('query strings: coercion, "not set" spellings, repeats, unknown names, lists', () => {
  const spec = { limit: s.int(1, 100, { default: 50 }), flag: s.bool(), q: s.string({ maxLength: 10 }), ids: s.array(s.int(1, 9), 3) };
  assert.deepEqual(parseQuery(spec, new URLSearchParams('limit=7&flag=true&q=x&ids=1&ids=2')), { limit: 7, flag: true, q: 'x', ids: [1, 2] });
  assert.deepEqual(parseQuery(spec, new URLSearchParams('q=null&flag=')), { limit: 50 });
  assert.match(problems(() => parseQuery(spec, new URLSearchParams('limit=1e3')))[0], /whole number/);
  assert.match(problems(() => parseQuery(spec, new URLSearchParams('limit=0x10')))[0], /whole number/);
  assert.match(problems(() => parseQuery(spec, new URLSearchParams('limit=1&limit=2')))[0], /more than once/);
  assert.match(problems(() => parseQuery(spec, new URLSearchParams('flag=yes')))[0], /true or false/);
  assert.match(problems(() => parseQuery(spec, new URLSearchParams('nope=1')))[0], /query\.nope: is not a parameter/);
  assert.match(problems(() => parseQuery(spec, new URLSearchParams('ids=1&ids=2&ids=3&ids=4')))[0], /limit is 3/);
  assert.match(problems(() => parseQuery({ t: s.string({ maxLength: 9 }) }, new URLSearchParams(''), ['t']))[0], /query\.t: is required/);
});

test('router: literal segments win over parameters, 405 lists methods, encoded values are decoded once', () => {
  const h = () => null;
  const r = new Router([
    route({ method: 'GET', path: '/api/v1/attackers/{uuid}', auth: 'viewer', tag: 't', summary: 's', responses: {}, handler: h }),
    route({ method: 'GET', path: '/api/v1/attackers/export', auth: 'viewer', tag: 't', summary: 's', responses: {}, handler: h }),
    route({ method: 'DELETE', path: '/api/v1/attackers/{uuid}', auth: 'admin', tag: 't', summary: 's', responses: {}, handler: h }),
    route({ method: 'GET', path: '/api/v1/attackers/{uuid}/events', auth: 'viewer', tag: 't', summary: 's', responses: {}, handler: h }),
  ]);
  const lit = r.match('GET', '/api/v1/attackers/export');
  assert.ok(lit && 'route' in lit && lit.route.path.endsWith('/export'));
  const param = r.match('GET', '/api/v1/attackers/a%2Fb');
  assert.ok(param && 'route' in param);
  assert.deepEqual(param.params, { uuid: 'a/b' });
  const nested = r.match('GET', '/api/v1/attackers/x/events');
  assert.ok(nested && 'route' in nested && nested.params.uuid === 'x');
  const wrong = r.match('POST', '/api/v1/attackers/x');
  assert.ok(wrong && 'allowed' in wrong);
  assert.deepEqual(wrong.allowed.sort(), ['DELETE', 'GET']);
  assert.equal(r.match('GET', '/api/v1/attackers/'), undefined);
  assert.equal(r.match('GET', '/api/v1/attackers/%E0%A4%A'), undefined);
  assert.equal(r.match('GET', '/api/v1/nothing'), undefined);
  const head = r.match('HEAD', '/api/v1/attackers/export');
  assert.ok(head && 'route' in head, 'HEAD is served by GET');
  assert.throws(() => new Router([route({ method: 'GET', path: '/a/{x}', auth: 'viewer', tag: 't', summary: 's', responses: {}, handler: h }), route({ method: 'GET', path: '/a/{y}/b', auth: 'viewer', tag: 't', summary: 's', responses: {}, handler: h })]), /clashes/);
});

test('tokens: round trip, and every way a token can be wrong', () => {
  const key = Buffer.from('k'.repeat(48));
  const { token, claims } = issueAccessToken(key, 'user-1', 900, 1_700_000_000_000);
  assert.equal(verifyAccessToken(key, token, 1_700_000_100_000).sub, 'user-1');
  assert.equal(claims.exp - claims.iat, 900);
  const reason = (fn: () => unknown) => {
    try {
      fn();
      return 'accepted';
    } catch (err) {
      assert.ok(err instanceof TokenError);
      return err.message;
    }
  };
  assert.equal(reason(() => verifyAccessToken(key, token, 1_700_000_900_000)), 'expired');
  assert.equal(reason(() => verifyAccessToken(Buffer.from('o'.repeat(48)), token, 1_700_000_100_000)), 'bad signature');
  const [h, p, sig] = token.split('.');
  assert.equal(reason(() => verifyAccessToken(key, `${h}.${p}.${sig.slice(0, -2)}AA`, 1_700_000_100_000)), 'bad signature');
  assert.equal(reason(() => verifyAccessToken(key, `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`, 1_700_000_100_000)), 'malformed token');
  assert.equal(reason(() => verifyAccessToken(key, `${Buffer.from('{"alg":"HS512","typ":"JWT"}').toString('base64url')}.${p}.${sig}`, 1_700_000_100_000)), 'unexpected token header');
  assert.equal(reason(() => verifyAccessToken(key, 'a.b', 0)), 'malformed token');
  assert.equal(reason(() => verifyAccessToken(key, 'x'.repeat(3000), 0)), 'token too long');
  assert.equal(reason(() => verifyAccessToken(key, token, 1_699_999_000_000)), 'issued in the future');
});

test('rate limiter: a burst, refill over time, refusals take nothing, bounded memory', () => {
  const rl = new RateLimiter({ capacity: 3, refillMs: 3000 }, 100);
  const t0 = 1_000_000;
  for (let i = 0; i < 3; i++) assert.equal(rl.take('a', t0), true);
  assert.equal(rl.take('a', t0), false);
  assert.ok(Math.abs(rl.retryAfterS('a', t0) - 1) < 1e-9, 'one attempt back after a third of the refill time');
  assert.equal(rl.take('a', t0 + 1000), true);
  assert.equal(rl.take('a', t0 + 1000), false);
  const both = rl.takeAll(['a', 'b'], t0 + 1000);
  assert.equal(both.ok, false);
  assert.equal(rl.retryAfterS('b', t0 + 1000), 0);
  for (let i = 0; i < 3; i++) assert.equal(rl.take('b', t0 + 1000), true, 'the refusal took nothing from b');
  for (let i = 0; i < 1000; i++) rl.take(`flood-${i}`, t0 + 2000);
  assert.ok(rl.size <= 100, `bounded: ${rl.size}`);
});

test('semaphore: runs at most N at once and refuses beyond the wait queue', async () => {
  const sem = new Semaphore(2, 1);
  let active = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const job = () =>
    sem.run(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise<void>((r) => gates.push(r));
      active--;
      return 'done';
    });
  const runs = [job(), job(), job()];
  assert.equal(await job(), undefined, 'the fourth is refused at once');
  while (gates.length < 2) await new Promise((r) => setImmediate(r));
  gates.shift()!();
  while (gates.length < 2) await new Promise((r) => setImmediate(r));
  gates.splice(0).forEach((g) => g());
  assert.deepEqual(await Promise.all(runs), [{ value: 'done' }, { value: 'done' }, { value: 'done' }]);
  assert.equal(peak, 2);
});

test('tickets: single use, expire, bounded per user', () => {
  const store = new TicketStore({ ttlMs: 30_000, maxPerUser: 2 });
  const user = { uuid: 'u1', username: 'x', role: 'viewer' as const, mustChangePassword: false, jti: 'j', exp: 0 };
  const now = 5_000_000;
  const a = store.mint(user, now).ticket;
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(store.redeem(a, now + 1000), 'u1');
  assert.equal(store.redeem(a, now + 1000), undefined, 'used');
  const b = store.mint(user, now).ticket;
  assert.equal(store.redeem(b, now + 30_000), undefined, 'expired');
  assert.equal(store.redeem(b, now), undefined, 'an expired ticket is gone too');
  const t1 = store.mint(user, now).ticket;
  const t2 = store.mint(user, now).ticket;
  const t3 = store.mint(user, now).ticket;
  assert.equal(store.redeem(t1, now), undefined, 'the oldest went when a third was minted');
  assert.equal(store.redeem(t2, now), 'u1');
  assert.equal(store.redeem(t3, now), 'u1');
  assert.equal(store.redeem('made-up', now), undefined);
});

test('the live log filter means what the SQL search means', () => {
  const row = { decky: 'web-01', service: 'ssh', event_type: 'auth_attempt', attacker_ip: '192.0.2.1', raw_line: 'Failed password for ROOT', fields: { username: 'root', port: 22, ok: false } };
  const match = (q: string) => logMatcher(parseLogSearch(q))!(row);
  assert.equal(logMatcher(parseLogSearch('')), undefined);
  assert.equal(match('decky:web-01 service:ssh event:auth_attempt attacker:192.0.2.1'), true);
  assert.equal(match('decky:web'), false, 'columns match exactly');
  assert.equal(match('username:root'), true);
  assert.equal(match('port:22'), true, 'numbers compare as text');
  assert.equal(match('ok:0'), true, 'booleans as SQLite renders them');
  assert.equal(match('password'), true);
  assert.equal(match('"password for root"'), true, 'quoted text, any case');
  assert.equal(match('web-01 nothere'), false, 'all terms must match');
});

test('OpenAPI schemas: nullable becomes a type list; local flags are dropped', () => {
  assert.deepEqual(toJsonSchema(s.string({ maxLength: 3, nullable: true, allowControl: true })), { type: ['string', 'null'], maxLength: 3 });
  const obj = toJsonSchema(s.object({ a: s.int(0, 1, { nullable: true }) }, { required: [] }));
  assert.deepEqual(obj, { type: 'object', properties: { a: { type: ['integer', 'null'], minimum: 0, maximum: 1 } }, additionalProperties: false });
});

test('configuration: loopback by default, a public bind needs an explicit flag, CORS wildcards are refused', () => {
  const saved = { ...process.env };
  try {
    delete process.env.DECNET_API_HOST;
    delete process.env.DECNET_API_PORT;
    delete process.env.DECNET_API_ALLOW_REMOTE;
    delete process.env.DECNET_CORS_ORIGINS;
    const c = apiConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8000);
    assert.equal(c.tokenTtlS, 900);
    assert.throws(() => apiConfig({ host: '0.0.0.0' }), /refusing to serve the API on 0\.0\.0\.0.*--allow-remote/);
    assert.equal(apiConfig({ host: '0.0.0.0', 'allow-remote': true }).host, '0.0.0.0');
    assert.throws(() => apiConfig({ host: 'example.com' }), /must be an IP address/);
    assert.throws(() => apiConfig({ port: 70000 }), /0 to 65535/);
    process.env.DECNET_CORS_ORIGINS = '*';
    assert.throws(() => apiConfig({}), /must list origins/);
    process.env.DECNET_CORS_ORIGINS = 'https://soc.example.com, http://localhost:5173';
    assert.deepEqual(apiConfig({}).corsOrigins, ['https://soc.example.com', 'http://localhost:5173']);
  } finally {
    process.env = saved;
  }
});

test('answer cache: one load for concurrent callers, stale answers while one refresh runs, failures not kept, bounded', async () => {
  const cache = new TtlCache(3);
  let loads = 0;
  const load = (v: string) => async () => {
    loads++;
    await new Promise((r) => setImmediate(r));
    return v;
  };
  const [a, b] = await Promise.all([cache.get('k', 30, load('one')), cache.get('k', 30, load('two'))]);
  assert.deepEqual([a, b, loads], ['one', 'one', 1], 'concurrent callers share one load');
  const cachedAt = Date.now();
  while (Date.now() - cachedAt <= 35) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await cache.get('k', 30, load('fresh')), 'one', 'the expired answer is given at once …');
  assert.equal(await cache.get('k', 30, load('fresh again')), 'one', '… while a single refresh runs');
  const deadline = Date.now() + 2000;
  while ((await cache.get('k', 30_000, load('never'))) !== 'fresh') {
    assert.ok(Date.now() < deadline, 'the refresh lands');
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(loads, 2, 'one refresh, not one per caller');
  let failures = 0;
  const failing = async () => {
    failures++;
    throw new Error('database down');
  };
  await assert.rejects(cache.get('f', 10_000, failing), /database down/);
  await assert.rejects(cache.get('f', 10_000, failing), /database down/);
  assert.equal(failures, 2, 'a failure is not cached');
  // the TTL may depend on how long the load took
  let given = -1;
  await cache.get('t', (ms) => ((given = ms), 1000), load('timed'));
  assert.ok(given >= 0);
  for (let i = 0; i < 10; i++) await cache.get(`many-${i}`, 10_000, load('x'));
  assert.ok(cache.size <= 3, `bounded: ${cache.size}`);
});
