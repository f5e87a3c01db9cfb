// elasticsearch decoy with fetch (undici) and raw sockets: banner in nmap's expected shape, the
// recon endpoints, a ransom run, credentials in Authorization, and malformed requests.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';

function raw(d: TestDecky, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: d.ip, port: d.port('elasticsearch') });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.once('error', reject);
    s.once('connect', () => s.end(data));
  });
}

describe('elasticsearch decoy (open 7.10.2)', () => {
  let d: TestDecky;
  let base: string;
  before(async () => {
    d = await startTestDecky({ services: ['elasticsearch'], persona: { hostname: 'es-node-01' } });
    base = `http://${d.ip}:${d.port('elasticsearch')}`;
  });
  after(() => d.stop());

  it("answers GET / HTTP/1.0 exactly as nmap's Elasticsearch match expects", async () => {
    const text = await raw(d, 'GET / HTTP/1.0\r\n\r\n');
    const m = /^HTTP\/1\.0 \d\d\d [^\r\n]+\r\n[Cc]ontent-[Tt]ype: application\/json; charset=UTF-8\r\n[Cc]ontent-[Ll]ength: \d+\r\n\r\n{.*?"name" : "([^"]+)",\n  "cluster_name" : "([^"]+)",(?:\n  "cluster_uuid" : "[^"]*",)?\n  "version" : {\n    "number" : "([\w._-]+)",.*"lucene_version" : "([^"]+)"/s.exec(text);
    assert.ok(m, text);
    assert.match(text, /\n  "tagline" : "You Know, for Search"\n}\n$/);
    assert.deepEqual(m.slice(1), ['es-node-01', 'elasticsearch', '7.10.2', '8.7.0']);
    const e = await d.waitForEvent((e) => e.event === 'request' && e.fields.path === '/' && e.fields.version === '1.0');
    assert.equal(e.fields.method, 'GET');
    assert.equal(e.fields.api, 'root');
  });

  it('serves _cat/indices, _cluster/health, _nodes and _search over bait indices', async () => {
    const cat = await fetch(`${base}/_cat/indices?v`);
    assert.equal(cat.status, 200);
    const lines = (await cat.text()).trim().split('\n');
    assert.match(lines[0]!, /^health status index +uuid +pri rep docs\.count/);
    assert.ok(lines.some((l) => /\bcustomers\b/.test(l)));
    const health = (await (await fetch(`${base}/_cluster/health`)).json()) as { status: string; cluster_name: string };
    assert.equal(health.cluster_name, 'elasticsearch');
    assert.equal(health.status, 'yellow');
    const nodes = (await (await fetch(`${base}/_nodes`)).json()) as { nodes: Record<string, { name: string; version: string }> };
    assert.equal(Object.values(nodes.nodes)[0]!.version, '7.10.2');
    const search = await fetch(`${base}/customers/_search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: { match_all: {} }, size: 100 }) });
    const hits = (await search.json()) as { hits: { total: { value: number }; hits: { _index: string; _source: { email: string } }[] } };
    assert.equal(hits.hits.total.value, 6);
    assert.match(hits.hits.hits[0]!._source.email, /@/);
    const e = await d.waitForEvent((e) => e.event === 'request' && e.fields.path === '/customers/_search');
    assert.equal(e.fields.method, 'POST');
    assert.equal(e.fields.body, '{"query":{"match_all":{}},"size":100}');
    assert.equal(e.fields.content_type, 'application/json');
    assert.equal(e.fields.user_agent, 'node');
  });

  it('records a ransom run: DELETE all indices, PUT a note index, POST the note', async () => {
    assert.equal((await fetch(`${base}/_all`, { method: 'DELETE' })).status, 200);
    const put = await fetch(`${base}/read_me`, { method: 'PUT' });
    assert.deepEqual(await put.json(), { acknowledged: true, shards_acknowledged: true, index: 'read_me' });
    const note = 'All your data is backed up. You must pay 0.05 BTC to bc1qexample to restore it.';
    const doc = await fetch(`${base}/read_me/_doc/1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: note }) });
    assert.equal(doc.status, 201);
    assert.equal(((await doc.json()) as { result: string }).result, 'created');
    const e = await d.waitForEvent((e) => e.event === 'request' && e.fields.path === '/read_me/_doc/1');
    assert.equal(JSON.parse(e.fields.body!).message, note);
    await d.waitForEvent((e) => e.event === 'request' && e.fields.method === 'DELETE' && e.fields.path === '/_all');
  });

  it('answers unknown routes and missing indices with Elasticsearch errors', async () => {
    const nh = await fetch(`${base}/_nope`);
    assert.equal(nh.status, 400);
    assert.deepEqual(await nh.json(), { error: 'no handler found for uri [/_nope] and method [GET]', status: 400 });
    const nf = await fetch(`${base}/does-not-exist/_search`);
    assert.equal(nf.status, 404);
    const body = (await nf.json()) as { error: { type: string; reason: string } };
    assert.equal(body.error.type, 'index_not_found_exception');
    assert.equal(body.error.reason, 'no such index [does-not-exist]');
  });

  it('records Basic credentials as an auth_attempt, password kept out of the request event', async () => {
    const auth = Buffer.from('elastic:changeme').toString('base64');
    await fetch(`${base}/_security/_authenticate`, { headers: { authorization: `Basic ${auth}` } });
    const e = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.username === 'elastic');
    assert.equal(e.secret?.toString(), 'changeme');
    assert.equal(e.fields.auth_method, 'basic');
    const r = await d.waitForEvent((e) => e.event === 'request' && e.fields.path === '/_security/_authenticate');
    assert.equal(r.fields.authorization, 'Basic');
    assert.doesNotMatch(r.raw, /changeme|ZWxhc3RpYzpjaGFuZ2VtZQ/);
  });

  it('answers malformed and oversized requests with 400/413 and keeps serving', async () => {
    assert.match(await raw(d, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(await raw(d, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`), /^HTTP\/1\.1 413 /);
    assert.match(await raw(d, 'POST /x/_doc HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n'), /^HTTP\/1\.1 400 /);
    await raw(d, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort');
    const ok = await fetch(`${base}/`);
    assert.equal(ok.status, 200);
    await d.waitForEvent((e) => e.event === 'protocol_error' && e.fields.error === 'head_too_large');
  });
});

describe('elasticsearch decoy (security enabled, 8.x)', () => {
  it('demands credentials, rejects them, and records them', async () => {
    const d = await startTestDecky({ services: [{ name: 'elasticsearch', config: { security: 'enabled', version: '8.12.2' } }] });
    try {
      const base = `http://${d.ip}:${d.port('elasticsearch')}`;
      const anon = await fetch(`${base}/`);
      assert.equal(anon.status, 401);
      assert.equal(anon.headers.get('www-authenticate'), 'Basic realm="security" charset="UTF-8"');
      assert.equal(anon.headers.get('x-elastic-product'), 'Elasticsearch');
      const withCreds = await fetch(`${base}/_cat/indices`, { headers: { authorization: 'ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==' } });
      assert.equal(withCreds.status, 401);
      const body = (await withCreds.json()) as { error: { reason: string } };
      assert.match(body.error.reason, /unable to authenticate user/);
      const e = await d.waitForEvent((e) => e.event === 'auth_attempt');
      assert.equal(e.fields.auth_method, 'apikey');
      assert.equal(e.secret?.toString(), 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==');
    } finally {
      await d.stop();
    }
  });
});
