import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { TextClient } from './text-client.ts';

describe('pop3', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: [{ name: 'pop3', config: { users: 'jdoe:Welcome1' } }], persona: { hostname: 'mail.acme-corp.com', distro: 'ubuntu22' } });
  });
  after(() => d.stop());

  test('Dovecot greeting with an APOP challenge; CAPA; wrong USER/PASS refused and captured', async () => {
    const c = await TextClient.open(d.ip, d.port('pop3'));
    const greeting = await c.line();
    assert.match(greeting, /^\+OK Dovecot \(Ubuntu\) ready\. <[0-9a-f]{16}\.\d+@mail\.acme-corp\.com>$/);
    const capa = await c.cmd('CAPA', /^\.$/);
    assert.deepEqual(capa.slice(0, 2), ['+OK', 'CAPA']);
    assert.ok(capa.includes('STLS') && capa.includes('SASL PLAIN LOGIN') && capa.includes('UIDL'));
    assert.deepEqual(await c.cmd('STAT'), ['-ERR Unknown command.']);
    assert.deepEqual(await c.cmd('USER jdoe'), ['+OK']);
    assert.deepEqual(await c.cmd('PASS hunter2'), ['-ERR [AUTH] Authentication failed.']);
    const e = await d.waitForEvent((x) => x.event === 'auth_attempt');
    assert.deepEqual([e.fields.username, e.fields.auth_method, e.fields.success, e.secret?.toString()], ['jdoe', 'USER', 'false', 'hunter2']);
    c.close();
  });

  test('APOP with the right digest opens the bait mailbox: STAT, LIST, UIDL, TOP, RETR, DELE', async () => {
    const c = await TextClient.open(d.ip, d.port('pop3'));
    const challenge = /<[^>]+>/.exec(await c.line())![0];
    const digest = createHash('md5').update(challenge + 'Welcome1').digest('hex');
    assert.deepEqual(await c.cmd(`APOP jdoe ${digest}`), ['+OK Logged in.']);
    const apop = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.auth_method === 'APOP');
    assert.equal(apop.fields.success, 'true');
    assert.equal(apop.fields.challenge, challenge);
    assert.equal(apop.secret?.toString(), digest);
    const stat = (await c.cmd('STAT'))[0]!;
    const [, count, size] = /^\+OK (\d+) (\d+)$/.exec(stat)!;
    assert.ok(Number(count) >= 5);
    const list = await c.cmd('LIST', /^\.$/);
    assert.equal(list[0], `+OK ${count} messages:`);
    assert.equal(list.slice(1, -1).reduce((s, l) => s + Number(l.split(' ')[1]), 0), Number(size));
    const uidl = await c.cmd('UIDL', /^\.$/);
    assert.equal(uidl.length, Number(count) + 2);
    const top = await c.cmd('TOP 1 0', /^\.$/);
    assert.ok(top.some((l) => l === 'To: jdoe@acme-corp.com'));
    assert.equal(top.at(-2), '', 'headers and the blank line only');
    const retr = await c.cmd(`RETR ${count}`, /^\.$/);
    assert.match(retr[0]!, /^\+OK \d+ octets$/);
    const subject = retr.find((l) => l.startsWith('Subject: '))!.slice(9);
    const read = await d.waitForEvent((x) => x.event === 'mail_read' && x.fields.command === 'RETR');
    assert.equal(read.fields.subject, subject);
    assert.deepEqual(await c.cmd('DELE 1'), ['+OK Marked to be deleted.']);
    assert.deepEqual(await c.cmd('RETR 1'), ['-ERR There is no such message.']);
    assert.deepEqual(await c.cmd('QUIT'), ['+OK Logging out, messages deleted.']);
  });

  test('995 implicit TLS and STLS on 110: SASL PLAIN captured, ClientHello recorded', async () => {
    const s = await TextClient.open(d.ip, d.port('pop3', 1), { tls: true, servername: 'mail.acme-corp.com' });
    assert.match(await s.line(), /^\+OK Dovecot \(Ubuntu\) ready\./);
    const plain = Buffer.from('\0jdoe\0Welcome1').toString('base64');
    assert.deepEqual(await s.cmd(`AUTH PLAIN ${plain}`), ['+OK Logged in.']);
    await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.auth_method === 'PLAIN' && x.fields.tls === 'true' && x.fields.success === 'true');
    await d.waitForEvent((x) => x.event === 'tls_hello' && x.fields.via === 'implicit' && x.fields.sni === 'mail.acme-corp.com');
    s.close();

    const c = await TextClient.open(d.ip, d.port('pop3'));
    await c.line();
    assert.deepEqual(await c.cmd('STLS'), ['+OK Begin TLS negotiation now.']);
    await c.startTls();
    const capa = await c.cmd('CAPA', /^\.$/);
    assert.ok(!capa.includes('STLS'));
    assert.deepEqual(await c.cmd('AUTH LOGIN'), ['+ VXNlcm5hbWU6']);
    assert.deepEqual(await c.cmd(Buffer.from('jdoe').toString('base64')), ['+ UGFzc3dvcmQ6']);
    assert.deepEqual(await c.cmd(Buffer.from('nope').toString('base64')), ['-ERR [AUTH] Authentication failed.']);
    const e = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.auth_method === 'LOGIN');
    assert.equal(e.secret?.toString(), 'nope');
    await d.waitForEvent((x) => x.event === 'tls_hello' && x.fields.via === 'starttls');
    c.close();
  });

  test('garbage, overlong and truncated input; the next client still works', async () => {
    const c = await TextClient.open(d.ip, d.port('pop3'));
    await c.line();
    assert.deepEqual(await c.cmd('\x00\x01\xfe'), ['-ERR Unknown command.']);
    assert.deepEqual(await c.cmd('USER ' + 'x'.repeat(9000)), ['-ERR Input line too long.']);
    c.send('PASS unterminated');
    c.close();
    const tls = await TextClient.open(d.ip, d.port('pop3', 1));
    tls.send('not a tls hello\r\n');
    await tls.waitClosed();
    await d.waitForEvent((x) => x.event === 'payload' && x.fields.reason === 'plaintext on TLS port');
    const next = await TextClient.open(d.ip, d.port('pop3'));
    assert.match(await next.line(), /^\+OK Dovecot/);
    assert.deepEqual(await next.cmd('QUIT'), ['+OK Logging out.']);
  });
});
