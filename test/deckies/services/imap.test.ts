import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestDecky, type TestDecky } from '../harness.ts';
import { TextClient } from './text-client.ts';

async function open(d: TestDecky, index = 0): Promise<{ c: TextClient; greeting: string }> {
  const c = await TextClient.open(d.ip, d.port('imap', index), index === 1 ? { tls: true } : {});
  return { c, greeting: await c.line() };
}

/** Sends a tagged command and returns every line up to its tagged completion. */
function tagged(c: TextClient, tag: string, command: string): Promise<string[]> {
  return c.cmd(`${tag} ${command}`, new RegExp(`^${tag} (OK|NO|BAD)`));
}

describe('imap', () => {
  let d: TestDecky;
  before(async () => {
    d = await startTestDecky({ services: ['imap'], persona: { hostname: 'mail.acme-corp.com' } });
  });
  after(() => d.stop());

  test('Dovecot greeting; LOGIN with a literal password is captured and refused', async () => {
    const { c, greeting } = await open(d);
    assert.equal(greeting, '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.');
    const caps = await tagged(c, 'a1', 'CAPABILITY');
    assert.match(caps[0]!, /^\* CAPABILITY IMAP4rev1 /);
    assert.equal(caps[1], 'a1 OK Pre-login capabilities listed, post-login capabilities have more.');
    assert.deepEqual(await c.cmd('a2 LOGIN "ceo@acme-corp.com" {10}'), ['+ OK']);
    assert.deepEqual(await c.cmd('p4ss"w0rd}'), ['a2 NO [AUTHENTICATIONFAILED] Authentication failed.']);
    const e = await d.waitForEvent((x) => x.event === 'auth_attempt');
    assert.deepEqual([e.fields.username, e.fields.auth_method, e.fields.success], ['ceo@acme-corp.com', 'LOGIN', 'false']);
    assert.equal(e.secret?.toString(), 'p4ss"w0rd}');
    assert.deepEqual(await tagged(c, 'a3', 'SELECT INBOX'), ['a3 BAD Error in IMAP command SELECT: Unknown command.']);
    c.close();
  });

  test('a weak account browses the bait mailbox: LIST, SELECT, FETCH, SEARCH, STORE, EXPUNGE, IDLE', async () => {
    const { c } = await open(d);
    const login = await tagged(c, 'a1', 'LOGIN admin admin123');
    assert.match(login[0]!, /^a1 OK \[CAPABILITY IMAP4rev1 .*\] Logged in$/);
    const list = await tagged(c, 'a2', 'LIST "" "*"');
    assert.deepEqual(list.slice(0, 2), ['* LIST (\\HasNoChildren) "/" INBOX', '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"']);
    const select = await tagged(c, 'a3', 'SELECT INBOX');
    const exists = Number(/^\* (\d+) EXISTS$/m.exec(select.join('\n'))![1]);
    assert.ok(exists >= 5, `${exists} messages`);
    assert.match(select.at(-1)!, /^a3 OK \[READ-WRITE\] Select completed/);

    const unseen = await tagged(c, 'a4', 'UID SEARCH UNSEEN');
    const unseenUids = unseen[0]!.replace('* SEARCH', '').trim().split(' ').map(Number);
    assert.ok(unseenUids.length >= 1);

    const head = await tagged(c, 'a5', `FETCH ${exists} (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])`);
    const m = /^\* (\d+) FETCH \(UID (\d+) FLAGS \(([^)]*)\) RFC822\.SIZE (\d+) BODY\[HEADER\.FIELDS \(SUBJECT FROM\)\] \{(\d+)\}$/.exec(head[0]!);
    assert.ok(m, head[0]);
    const size = Number(m[4]);

    c.send(`a6 UID FETCH ${unseenUids[0]} BODY[]\r\n`);
    const first = await c.line();
    const lit = new RegExp(`^\\* \\d+ FETCH \\(UID ${unseenUids[0]} BODY\\[\\] \\{(\\d+)\\}$`).exec(first);
    assert.ok(lit, first);
    const bodyBytes = await c.bytes(Number(lit[1]));
    assert.match(bodyBytes.toString(), /^Return-Path: </);
    assert.equal(await c.line(), ' FLAGS (\\Seen))', 'reading the body sets \\Seen and reports it');
    await c.linesUntil(/^a6 OK/);
    const read = await d.waitForEvent((x) => x.event === 'mail_read' && x.service === 'imap');
    assert.equal(read.fields.command, 'BODY[]');
    assert.equal(read.fields.uid, String(unseenUids[0]));
    const after = await tagged(c, 'a6b', 'UID SEARCH UNSEEN');
    assert.ok(!after[0]!.split(' ').includes(String(unseenUids[0])));

    c.send(`a7 UID FETCH ${m[2]} (RFC822.SIZE)\r\n`);
    assert.equal(await c.line(), `* ${m[1]} FETCH (UID ${m[2]} RFC822.SIZE ${size})`);
    await c.linesUntil(/^a7 OK/);

    const store = await tagged(c, 'a8', 'STORE 1 +FLAGS.SILENT (\\Deleted)');
    assert.equal(store.length, 1, 'silent store sends no FETCH');
    assert.match(store[0]!, /^a8 OK Store completed/);
    const expunge = await tagged(c, 'a9', 'EXPUNGE');
    assert.deepEqual(expunge.slice(0, 1), ['* 1 EXPUNGE']);
    const status = await tagged(c, 'b1', 'STATUS INBOX (MESSAGES UIDNEXT)');
    assert.match(status[0]!, new RegExp(`^\\* STATUS INBOX \\(MESSAGES ${exists - 1} UIDNEXT ${exists + 1}\\)$`));
    assert.deepEqual(await c.cmd('b2 IDLE'), ['+ idling']);
    assert.match((await c.cmd('DONE'))[0]!, /^b2 OK Idle completed/);
    const search = await tagged(c, 'b3', 'SEARCH OR SUBJECT "password" FROM "alerts" NOT DELETED');
    assert.match(search[0]!, /^\* SEARCH( \d+)+$/);
    const bye = await tagged(c, 'b4', 'LOGOUT');
    assert.equal(bye[0], '* BYE Logging out');
    await c.waitClosed();
  });

  test('993 implicit TLS with AUTHENTICATE PLAIN (SASL-IR); STARTTLS on 143 drops pipelined commands', async () => {
    const { c, greeting } = await open(d, 1);
    assert.doesNotMatch(greeting, /STARTTLS/, 'no STARTTLS on the TLS port');
    const ir = Buffer.from('\0mail\0mail').toString('base64');
    assert.match((await tagged(c, 't1', `AUTHENTICATE PLAIN ${ir}`))[0]!, /^t1 OK \[CAPABILITY .*\] Logged in$/);
    const e = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.username === 'mail');
    assert.deepEqual([e.fields.auth_method, e.fields.success, e.fields.tls, e.secret?.toString()], ['PLAIN', 'true', 'true', 'mail']);
    await d.waitForEvent((x) => x.event === 'tls_hello' && x.fields.via === 'implicit' && x.service === 'imap');
    c.close();

    const { c: p } = await open(d);
    p.send('s1 STARTTLS\r\ns2 LOGIN admin admin123\r\n');
    assert.equal(await p.line(), 's1 OK Begin TLS negotiation now.');
    await p.startTls();
    const caps = await tagged(p, 's3', 'CAPABILITY');
    assert.doesNotMatch(caps[0]!, /STARTTLS/);
    assert.deepEqual(await tagged(p, 's4', 'SELECT INBOX'), ['s4 BAD Error in IMAP command SELECT: Unknown command.'], 'the pipelined LOGIN was discarded');
    assert.deepEqual(await p.cmd('s5 AUTHENTICATE LOGIN'), ['+ VXNlcm5hbWU6']);
    assert.deepEqual(await p.cmd(Buffer.from('admin').toString('base64')), ['+ UGFzc3dvcmQ6']);
    assert.deepEqual(await p.cmd(Buffer.from('letmein').toString('base64')), ['s5 NO [AUTHENTICATIONFAILED] Authentication failed.']);
    const f = await d.waitForEvent((x) => x.event === 'auth_attempt' && x.fields.auth_method === 'LOGIN' && x.fields.success === 'false' && x.fields.tls === 'true');
    assert.equal(f.secret?.toString(), 'letmein');
    p.close();
  });

  test('syntax errors, oversized literals and truncated input; the next client still works', async () => {
    const { c } = await open(d);
    assert.deepEqual(await c.cmd('\x00\xff garbage'), ['* BAD Error in IMAP command received by server.']);
    assert.deepEqual(await c.cmd('x1 LOGIN (unbalanced'), ['x1 BAD Error in IMAP command received by server.']);
    assert.deepEqual(await c.cmd('x2 FETCH 1:* (FLAGS)'), ['x2 BAD Error in IMAP command FETCH: Unknown command.']);
    await d.waitForEvent((x) => x.event === 'command' && x.fields.cmd === 'INVALID');
    c.send('x3 APPEND INBOX {99999999+}\r\n');
    assert.equal(await c.line(), '* BYE [TOOBIG] Literal too large.');
    await c.waitClosed();

    const { c: t } = await open(d);
    t.send('y1 LOGIN {5}\r\n');
    assert.equal(await t.line(), '+ OK');
    t.close();

    const { c: next, greeting } = await open(d);
    assert.match(greeting, /Dovecot \(Debian\) ready\.$/);
    assert.match((await tagged(next, 'z1', 'NOOP'))[0]!, /^z1 OK NOOP completed/);
    next.close();
  });
});
