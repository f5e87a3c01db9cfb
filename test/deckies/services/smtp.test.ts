import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { TextClient } from './text-client.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function session(d: TestDecky, index = 0): Promise<TextClient> {
  const c = await TextClient.open(d.ip, d.port('smtp', index));
  assert.match(await c.line(), /^220 /);
  return c;
}

describe('smtp', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['smtp'], persona: { hostname: 'mx1.acme-corp.com' } });
  });
  after(() => d.stop());

  test('Postfix greeting and EHLO capabilities on 25 and 587', async () => {
    for (const index of [0, 1]) {
      const c = await TextClient.open(d.ip, d.port('smtp', index));
      assert.equal(await c.line(), '220 mx1.acme-corp.com ESMTP Postfix (Debian/GNU)');
      const caps = await c.cmd('EHLO scanner.example', /^250 /);
      assert.equal(caps[0], '250-mx1.acme-corp.com');
      for (const cap of ['PIPELINING', 'SIZE 10240000', 'STARTTLS', 'AUTH PLAIN LOGIN', 'ENHANCEDSTATUSCODES', '8BITMIME']) {
        assert.ok(caps.some((l) => l.slice(4) === cap), `${cap} in ${caps.join(' | ')}`);
      }
      assert.deepEqual(await c.cmd('QUIT'), ['221 2.0.0 Bye']);
    }
  });

  test('AUTH LOGIN and AUTH PLAIN are captured and refused', async () => {
    const c = await session(d);
    assert.deepEqual(await c.cmd('AUTH LOGIN'), ['503 5.5.1 Error: send HELO/EHLO first']);
    await c.cmd('EHLO x', /^250 /);
    assert.deepEqual(await c.cmd('AUTH LOGIN'), ['334 VXNlcm5hbWU6']);
    assert.deepEqual(await c.cmd(b64('info@acme-corp.com')), ['334 UGFzc3dvcmQ6']);
    assert.deepEqual(await c.cmd(b64('Spring2024!')), ['535 5.7.8 Error: authentication failed: authentication failure']);
    const login = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.auth_method === 'LOGIN');
    assert.equal(login.fields.username, 'info@acme-corp.com');
    assert.equal(login.fields.success, 'false');
    assert.equal(login.secret?.toString(), 'Spring2024!');
    assert.deepEqual(await c.cmd(`AUTH PLAIN ${b64('\0admin\0p\u00e4ss')}`), ['535 5.7.8 Error: authentication failed: authentication failure']);
    const plain = await d.waitForEvent((e) => e.event === 'auth_attempt' && e.fields.auth_method === 'PLAIN');
    assert.equal(plain.fields.username, 'admin');
    assert.equal(plain.secret?.toString('utf8'), 'p\u00e4ss');
    c.close();
  });

  test('a message with a relay attempt is accepted, stored as .eml and summarised', async () => {
    const c = await session(d);
    await c.cmd('EHLO bulk.example', /^250 /);
    assert.deepEqual(await c.cmd('MAIL FROM:<billing@pay-secure.example>'), ['250 2.1.0 Ok']);
    assert.deepEqual(await c.cmd('RCPT TO:<ceo@acme-corp.com>'), ['250 2.1.5 Ok']);
    assert.deepEqual(await c.cmd('RCPT TO:<victim@gmail.com>'), ['250 2.1.5 Ok']);
    const relay = await d.waitForEvent((e) => e.event === 'relay_attempt');
    assert.equal(relay.fields.rcpt, 'victim@gmail.com');
    assert.equal(relay.fields.from, 'billing@pay-secure.example');
    assert.equal(relay.fields.accepted, 'true');
    assert.deepEqual(await c.cmd('DATA'), ['354 End data with <CR><LF>.<CR><LF>']);
    const body = [
      'From: "Billing" <billing@pay-secure.example>',
      'To: ceo@acme-corp.com',
      'Subject: =?UTF-8?B?VXJnZW50OiBpbnZvaWNlIOKCrDQuMjAw?=',
      'Message-ID: <x1@pay-secure.example>',
      'X-Mailer: PHPMailer 6.8.0',
      '',
      'Pay here: https://pay-secure.example/login?id=7',
      '..this line started with a dot',
      '',
    ].join('\r\n');
    c.send(`${body}.\r\n`);
    const queued = await c.line();
    assert.match(queued, /^250 2\.0\.0 Ok: queued as [0-9A-F]{11}$/);
    const m = await d.waitForEvent((e) => e.event === 'mail');
    assert.equal(m.fields.from, 'billing@pay-secure.example');
    assert.equal(m.fields.rcpt, 'ceo@acme-corp.com,victim@gmail.com');
    assert.equal(m.fields.rcpt_count, '2');
    assert.equal(m.fields.subject, 'Urgent: invoice \u20ac4.200');
    assert.equal(m.fields.message_id, '<x1@pay-secure.example>');
    assert.equal(m.fields.x_mailer, 'PHPMailer 6.8.0');
    assert.equal(m.fields.urls, '1');
    assert.equal(m.fields.queue_id, queued.slice(-11));
    const stored = readFileSync(m.fields.quarantine_path!);
    assert.equal(createHash('sha256').update(stored).digest('hex'), m.fields.sha256);
    assert.equal(String(stored.length), m.fields.size);
    const text = stored.toString();
    assert.match(text, /^Received: from bulk\.example \(unknown \[127\.0\.0\.1\]\)\r\n\tby mx1\.acme-corp\.com \(Postfix\) with ESMTP id [0-9A-F]{11}/);
    assert.ok(text.includes('\r\n.this line started with a dot\r\n'), 'dot-stuffing removed');
    assert.ok(text.endsWith(body.replace('\r\n..', '\r\n.')), 'the body is stored byte for byte');
    c.close();
  });

  test('STARTTLS upgrades the session and records the ClientHello; commands pipelined before it are dropped', async () => {
    const c = await session(d);
    await c.cmd('EHLO tls.example', /^250 /);
    c.send('STARTTLS\r\nMAIL FROM:<smuggled@x>\r\n');
    assert.equal(await c.line(), '220 2.0.0 Ready to start TLS');
    const secure = await c.startTls('mx1.acme-corp.com');
    assert.equal(secure.getPeerX509Certificate()?.subject, 'CN=mx1.acme-corp.com');
    const caps = await c.cmd('EHLO tls.example', /^250 /);
    assert.ok(!caps.some((l) => l.includes('STARTTLS')), 'no STARTTLS once encrypted');
    assert.deepEqual(await c.cmd('RCPT TO:<a@acme-corp.com>'), ['503 5.5.1 Error: need MAIL command'], 'the smuggled MAIL was not executed');
    const hello = await d.waitForEvent((e) => e.event === 'tls_hello' && e.fields.via === 'starttls');
    assert.equal(hello.fields.sni, 'mx1.acme-corp.com');
    await d.waitForEvent((e) => e.event === 'payload' && e.fields.reason === 'data after STARTTLS discarded');
    c.close();
  });

  test('limits: recipients, message size, line length, error count', async () => {
    const small = await startTestDecky({ services: [{ name: 'smtp', config: { max_message: '2048', relay: 'closed', domain: 'corp.example' } }] });
    try {
      const c = await session(small);
      await c.cmd('HELO x', /^250 /);
      await c.cmd('MAIL FROM:<a@b.example>');
      assert.deepEqual(await c.cmd('RCPT TO:<someone@elsewhere.example>'), ['554 5.7.1 <someone@elsewhere.example>: Relay access denied']);
      for (let i = 0; i < 100; i++) c.send(`RCPT TO:<u${i}@corp.example>\r\n`);
      const replies = await c.linesUntil(/^250 2\.1\.5 Ok$/);
      assert.equal(replies.length, 1);
      for (let i = 1; i < 100; i++) assert.equal(await c.line(), '250 2.1.5 Ok');
      assert.deepEqual(await c.cmd('RCPT TO:<extra@corp.example>'), ['452 4.5.3 Error: too many recipients']);
      assert.deepEqual(await c.cmd('DATA'), ['354 End data with <CR><LF>.<CR><LF>']);
      c.send(`Subject: big\r\n\r\n${'x'.repeat(5000)}\r\n.\r\n`);
      assert.equal(await c.line(), '552 5.3.4 Message size exceeds fixed limit');
      assert.deepEqual(await c.cmd(`NOOP ${'y'.repeat(5000)}`), ['500 5.5.2 Error: line too long']);
      c.close();

      const noisy = await session(small);
      for (let i = 0; i < 19; i++) noisy.send('BOGUS\r\n');
      for (let i = 0; i < 19; i++) assert.equal(await noisy.line(), '502 5.5.2 Error: command not recognized');
      noisy.send('\x16\x03\x01\x00\xff garbage\r\n');
      assert.equal(await noisy.line(), '502 5.5.2 Error: command not recognized');
      assert.match(await noisy.line(), /^421 4\.7\.0 .* Error: too many errors$/);
      await noisy.waitClosed();

      const next = await session(small);
      assert.deepEqual(await next.cmd('NOOP'), ['250 2.0.0 Ok']);
      next.close();
    } finally {
      await small.stop();
    }
  });
});
