import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { HttpRequestParser, type ParseResult } from '../../../src/deckies/web/http-parser.ts';
import { startTestDecky, type TestDecky, type TestEvent } from '../harness.ts';
import { TextClient } from './text-client.ts';

const run = promisify(execFile);

/** Sends raw bytes, returns everything the server wrote until it closed. */
async function rawExchange(ip: string, port: number, data: string | Buffer, timeoutMs = 5000): Promise<string> {
  const c = await TextClient.open(ip, port);
  c.send(data);
  await c.waitClosed(timeoutMs);
  const all: string[] = [];
  for (;;) {
    try {
      all.push(await c.line(50));
    } catch {
      break;
    }
  }
  return all.join('\n');
}

describe('http: stock nginx persona', () => {
  let d: TestDecky;
  let base: string;
  before(async () => {
    d = await startTestDecky({ services: ['http'] });
    base = `http://${d.ip}:${d.port('http')}`;
  });
  after(() => d.stop());

  test('default page, Server header and the recorded request', async () => {
    const res = await fetch(`${base}/?q=1`, { headers: { 'User-Agent': 'Mozilla/5.0 (scanner)', 'X-Probe': 'a"b]c' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('server'), 'nginx/1.22.1');
    assert.match(res.headers.get('etag') ?? '', /^"[0-9a-f]+-267"$/);
    assert.match(await res.text(), /<title>Welcome to nginx!<\/title>/);
    const e = await d.waitForEvent((x) => x.event === 'request' && x.fields.query === 'q=1');
    assert.equal(e.service, 'http');
    assert.equal(e.fields.method, 'GET');
    assert.equal(e.fields.path, '/');
    assert.equal(e.fields.version, '1.1');
    assert.equal(e.fields.user_agent, 'Mozilla/5.0 (scanner)');
    assert.equal(e.fields.status, '200');
    assert.equal(e.fields.host, d.port('http') === 80 ? d.ip : `${d.ip}:${d.port('http')}`);
    assert.equal(JSON.parse(e.fields.headers!)['X-Probe'], 'a"b]c', 'header names are kept as sent');
    assert.match(e.fields.header_order!, /host/i);
  });

  test('404 and robots.txt look like nginx', async () => {
    const res = await fetch(`${base}/admin/.env`);
    assert.equal(res.status, 404);
    assert.equal(await res.text(), '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n');
    const robots = await fetch(`${base}/robots.txt`);
    assert.equal(robots.status, 200);
    assert.match(await robots.text(), /Disallow: \/backup\//);
    const favicon = await fetch(`${base}/favicon.ico`);
    assert.equal(favicon.status, 404, 'a bare nginx install has no favicon');
    await d.waitForEvent((x) => x.event === 'request' && x.fields.path === '/admin/.env' && x.fields.status === '404');
  });

  test('credentials in a form posted anywhere and in an Authorization header are captured', async () => {
    const res = await fetch(`${base}/boaform/admin/formLogin`, { method: 'POST', body: new URLSearchParams({ username: 'admin', psd: 'x', password: 'Zte521' }) });
    assert.equal(res.status, 404);
    const form = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.path === '/boaform/admin/formLogin');
    assert.equal(form.fields.username, 'admin');
    assert.equal(form.fields.auth_method, 'form');
    assert.equal(form.secret?.toString(), 'Zte521');
    await run('curl', ['-s', '-o', '/dev/null', '-u', 'root:p@ss:word', `${base}/secure/`]);
    const basic = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.auth_method === 'basic');
    assert.equal(basic.fields.username, 'root');
    assert.equal(basic.secret?.toString(), 'p@ss:word');
    await fetch(`${base}/api`, { headers: { Authorization: 'Bearer eyJhbGciOi.token' } });
    const bearer = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.auth_method === 'bearer');
    assert.equal(bearer.fields.secret_kind, 'http_bearer');
    assert.equal(bearer.secret?.toString(), 'eyJhbGciOi.token');
  });

  test('chunked body is decoded and recorded', async () => {
    const reply = await rawExchange(d.ip, d.port('http'), 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    assert.match(reply, /^HTTP\/1\.1 404 Not Found/);
    const e = await d.waitForEvent((x) => x.event === 'request' && x.fields.path === '/upload');
    assert.equal(e.fields.body, 'hello world');
    assert.equal(e.fields.body_len, '11');
  });

  test('a large body within the limit is read in full', async () => {
    const big = 'A'.repeat(300_000);
    const res = await fetch(`${base}/upload.php`, { method: 'POST', body: new URLSearchParams({ user: 'bob', pass: 'x', blob: big }) });
    assert.equal(res.status, 404);
    const e = await d.waitForEvent((x) => x.event === 'request' && x.fields.path === '/upload.php');
    assert.equal(e.fields.body_len, String(Buffer.byteLength(new URLSearchParams({ user: 'bob', pass: 'x', blob: big }).toString())));
    assert.equal(e.fields.body?.length, 512, 'the recorded body is a bounded prefix');
    const login = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.path === '/upload.php');
    assert.equal(login.fields.username, 'bob');
  });

  test('limits: oversized header block, oversized body, smuggling, traversal, request budget', async () => {
    const big = await rawExchange(d.ip, d.port('http'), `GET / HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(20000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(big, /400 Request Header Or Cookie Too Large/);
    const body = await rawExchange(d.ip, d.port('http'), 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n');
    assert.match(body, /^HTTP\/1\.1 413 Request Entity Too Large/);
    const smuggle = await rawExchange(d.ip, d.port('http'), 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.match(smuggle, /^HTTP\/1\.1 400 Bad Request/);
    const traversal = await rawExchange(d.ip, d.port('http'), 'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(traversal, /^HTTP\/1\.1 400 Bad Request/);
    await d.waitForEvent((x) => x.event === 'request' && x.fields.path === '/../../etc/passwd' && x.fields.status === '400');
    const pipelined = await rawExchange(d.ip, d.port('http'), 'GET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(101));
    assert.equal(pipelined.match(/^HTTP\/1\.1 200 OK$/gm)?.length, 100, 'the connection closes after 100 requests');
    assert.match(pipelined, /Connection: close/);
  });

  test('garbage, binary and truncated input: clear errors, recorded, and the next client is served', async () => {
    const tlsOnPlain = await rawExchange(d.ip, d.port('http'), Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]));
    assert.match(tlsOnPlain, /^HTTP\/1\.1 400 Bad Request/);
    const e = await d.waitForEvent((x) => x.event === 'request' && x.fields.error === 'invalid method');
    assert.match(e.fields.raw!, /^\\x16\\x03\\x01/);
    const truncated = await TextClient.open(d.ip, d.port('http'));
    truncated.send('GET /half HTTP/1.1\r\nHost: ');
    truncated.close();
    const ok = await fetch(`${base}/`);
    assert.equal(ok.status, 200);
  });
});

describe('http: fake applications', () => {
  let d: TestDecky;
  const base = (svc: string): string => `http://${d.ip}:${d.port(svc)}`;
  before(async () => {
    d = await startTestDecky({ services: [{ name: 'http', config: { fake_app: 'wordpress' } }] });
  });
  after(() => d.stop());

  const login = (pred: (e: TestEvent) => boolean): Promise<TestEvent> => d.waitForEvent((e) => e.event === 'auth_attempt' && pred(e));

  test('WordPress: wp-login.php, xmlrpc.php multicall, user enumeration', async () => {
    const page = await fetch(`${base('http')}/wp-login.php`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-powered-by'), 'PHP/8.2.20');
    assert.match(await page.text(), /name="log"[\s\S]*name="pwd"/);
    const post = await fetch(`${base('http')}/wp-login.php`, { method: 'POST', body: new URLSearchParams({ log: 'editor', pwd: 'Passw0rd!', 'wp-submit': 'Log In' }) });
    assert.match(await post.text(), /The password you entered for the username <strong>editor<\/strong> is incorrect/);
    const form = await login((e) => e.fields.username === 'editor');
    assert.equal(form.fields.app, 'wordpress');
    assert.equal(form.fields.success, 'false');
    assert.equal(form.secret?.toString(), 'Passw0rd!');

    const call = (u: string, p: string): string =>
      `<value><struct><member><name>methodName</name><value><string>wp.getUsersBlogs</string></value></member><member><name>params</name><value><array><data><value><string>${u}</string></value><value><string>${p}</string></value></data></array></value></member></struct></value>`;
    const xml = `<?xml version="1.0"?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data>${call('admin', 'admin123')}${call('admin', 'qwerty&amp;1')}</data></array></value></param></params></methodCall>`;
    const rpc = await fetch(`${base('http')}/xmlrpc.php`, { method: 'POST', body: xml, headers: { 'Content-Type': 'text/xml' } });
    assert.equal((await rpc.text()).match(/Incorrect username or password\./g)?.length, 2);
    await login((e) => e.fields.auth_method === 'xmlrpc' && e.secret?.toString() === 'admin123');
    await login((e) => e.fields.auth_method === 'xmlrpc' && e.secret?.toString() === 'qwerty&1');

    const users = (await (await fetch(`${base('http')}/wp-json/wp/v2/users`)).json()) as Array<{ slug: string }>;
    assert.equal(users[0]!.slug, 'admin');
    const redirect = await fetch(`${base('http')}/wp-admin/`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.match(redirect.headers.get('location') ?? '', /\/wp-login\.php\?redirect_to=.*&reauth=1$/);
  });

  test('each other application answers its own login and records the credential', async () => {
    const apps = await startTestDecky({
      services: [
        { name: 'http', config: { fake_app: 'tomcat' } },
        { name: 'https', config: { fake_app: 'jenkins' } },
      ],
    });
    try {
      const tomcat = `http://${apps.ip}:${apps.port('http')}`;
      const res = await fetch(`${tomcat}/manager/html`, { headers: { Authorization: `Basic ${Buffer.from('tomcat:s3cret').toString('base64')}` } });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Basic realm="Tomcat Manager Application"');
      assert.equal(res.headers.get('server'), null, 'Tomcat sends no Server header');
      const t = await apps.waitForEvent((e) => e.event === 'auth_attempt' && e.service === 'http');
      assert.deepEqual([t.fields.username, t.fields.app, t.secret?.toString()], ['tomcat', 'tomcat', 's3cret']);

      const { stdout } = await run('curl', ['-sk', '-i', '--data', 'j_username=admin&j_password=jenkins1&from=%2F&Submit=Sign+in', `https://${apps.ip}:${apps.port('https')}/j_spring_security_check`]);
      assert.match(stdout, /^HTTP\/1\.1 302 Found/);
      assert.match(stdout, /Location: \/loginError/);
      assert.match(stdout, /X-Jenkins: 2\.\d+\.\d+/);
      const j = await apps.waitForEvent((e) => e.event === 'auth_attempt' && e.service === 'https');
      assert.deepEqual([j.fields.username, j.fields.app, j.secret?.toString()], ['admin', 'jenkins', 'jenkins1']);
    } finally {
      await apps.stop();
    }
    const more = await startTestDecky({
      services: [
        { name: 'http', config: { fake_app: 'phpmyadmin', server_header: 'apache' } },
        { name: 'https', config: { fake_app: 'nas' } },
      ],
      persona: { distro: 'ubuntu22' },
    });
    try {
      const pma = `http://${more.ip}:${more.port('http')}`;
      const res = await fetch(`${pma}/phpmyadmin/index.php`, { method: 'POST', body: new URLSearchParams({ pma_username: 'root', pma_password: 'toor', server: '1' }) });
      assert.equal(res.headers.get('server'), 'Apache/2.4.52 (Ubuntu)');
      assert.match(await res.text(), /Access denied for user 'root'@'localhost' \(using password: YES\)/);
      const p = await more.waitForEvent((e) => e.event === 'auth_attempt' && e.service === 'http');
      assert.deepEqual([p.fields.username, p.fields.app, p.secret?.toString()], ['root', 'phpmyadmin', 'toor']);
      const notFound = await fetch(`${pma}/nope`);
      assert.match(await notFound.text(), /<address>Apache\/2\.4\.52 \(Ubuntu\) Server at .* Port \d+<\/address>/);

      const { stdout } = await run('curl', ['-sk', `https://${more.ip}:${more.port('https')}/webapi/auth.cgi?api=SYNO.API.Auth&version=3&method=login&account=admin&passwd=synology&session=FileStation`]);
      assert.deepEqual(JSON.parse(stdout), { error: { code: 400 }, success: false });
      const n = await more.waitForEvent((e) => e.event === 'auth_attempt' && e.service === 'https');
      assert.deepEqual([n.fields.username, n.fields.auth_method, n.fields.app, n.secret?.toString()], ['admin', 'query', 'nas', 'synology']);
    } finally {
      await more.stop();
    }
    const router = await startTestDecky({ services: [{ name: 'http', config: { fake_app: 'router' } }], persona: { osFamily: 'embedded', archetype: 'iot-device', distro: 'alpine' } });
    try {
      const r = await fetch(`http://${router.ip}:${router.port('http')}/cgi-bin/luci`, { method: 'POST', body: new URLSearchParams({ luci_username: 'root', luci_password: 'admin' }) });
      assert.equal(r.status, 403);
      assert.equal(r.headers.get('server'), null, 'an embedded router sends no Server header');
      assert.match(await r.text(), /Invalid username and\/or password!/);
      const e = await router.waitForEvent((x) => x.event === 'auth_attempt');
      assert.deepEqual([e.fields.username, e.fields.app, e.secret?.toString()], ['root', 'router', 'admin']);
    } finally {
      await router.stop();
    }
  });
});

describe('http request parser', () => {
  const stream = [
    'GET /a?x=1&y=%20 HTTP/1.1\r\nHost: h\r\nUser-Agent: t\r\n\r\n',
    'POST /login HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nuser=a&pw=b',
    'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n',
    'GET /old HTTP/1.0\nHost: h\n\n',
    'GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  ].join('');

  const summarise = (results: ParseResult[]): string[] =>
    results.map((r) => (r.kind === 'request' ? `${r.request.method} ${r.request.rawPath} ${r.request.query} ${r.request.version} ${r.request.body.toString()} ${r.request.keepAlive}` : `error ${r.error.status}`));

  const drain = (p: HttpRequestParser, out: ParseResult[]): void => {
    for (let r = p.next(); r; r = p.next()) out.push(r);
  };

  test('pipelined requests parse the same whole or byte by byte', () => {
    const whole = new HttpRequestParser();
    const a: ParseResult[] = [];
    whole.push(Buffer.from(stream));
    drain(whole, a);
    const bytewise = new HttpRequestParser();
    const b: ParseResult[] = [];
    for (const byte of Buffer.from(stream)) {
      bytewise.push(Buffer.from([byte]));
      drain(bytewise, b);
    }
    assert.deepEqual(summarise(a), [
      'GET /a x=1&y=%20 1.1  true',
      'POST /login  1.1 user=a&pw=b true',
      'POST /c  1.1 abc true',
      'GET /old  1.0  false',
      'GET /last  1.1  false',
    ]);
    assert.deepEqual(summarise(b), summarise(a));
  });

  test('random bytes never throw and never buffer past the limits', () => {
    for (let i = 0; i < 2000; i++) {
      const p = new HttpRequestParser({ maxHeaderBytes: 4096, maxRequestLine: 1024, maxBody: 8192 });
      const prefix = i % 2 === 0 ? 'GET / HTTP/1.1\r\n' : '';
      p.push(Buffer.concat([Buffer.from(prefix), randomBytes(1 + (i % 700))]));
      const out: ParseResult[] = [];
      drain(p, out);
      p.push(randomBytes(5000));
      drain(p, out);
      assert.ok(p.buffered <= 4096 + 5000 + 700 + 20, `buffered ${p.buffered}`);
      for (const r of out) if (r.kind === 'error') assert.ok([400, 405, 413, 414, 431, 501, 505].includes(r.error.status));
    }
  });
});
