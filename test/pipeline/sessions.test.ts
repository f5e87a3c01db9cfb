// attacker.session.ended derivation: a connection that ran commands ends with its disconnect; the
// memory held for open connections stays within its limits whatever an attacker sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEvent, parseEventLine, type EventInput } from '../../src/pipeline/rfc5424.ts';
import { SessionTracker } from '../../src/pipeline/sessions.ts';

const rec = (over: Partial<EventInput> & { event: string }) =>
  parseEventLine(formatEvent({ ts: '2024-05-01T10:00:10.000Z', decky: 'd1', service: 'ssh', src_ip: '198.51.100.9', src_port: 5000, dst_ip: '192.0.2.1', dst_port: 22, ...over }));

test('a connection that ran commands ends with its disconnect; one without commands is not a session', () => {
  const t = new SessionTracker();
  assert.equal(t.feed(rec({ event: 'connect' })), null);
  t.feed(rec({ event: 'command', ts: '2024-05-01T10:00:01.000Z', fields: { command: 'id', user: 'root', cwd: '/root' } }));
  t.feed(rec({ event: 'command', ts: '2024-05-01T10:00:02.000Z', fields: { command: 'uname -a' } }));
  t.feed(rec({ event: 'command', src_port: 5001, fields: { command: 'other connection' } }));
  const ended = t.feed(rec({ event: 'disconnect', fields: { duration_ms: 10_000, bytes_in: 120, bytes_out: 800, reason: 'closed' } }))!;
  assert.deepEqual(ended.commands.map((c) => c.command_text), ['id', 'uname -a']);
  assert.equal(ended.started_at, '2024-05-01T10:00:00.000Z');
  assert.equal(ended.duration_s, 10);
  assert.equal(ended.bytes_out, 800);
  assert.equal(ended.commands[0].id, `${ended.session_id}#0`);
  assert.equal(ended.commands[0].user, 'root');
  assert.equal(t.feed(rec({ event: 'disconnect', src_port: 6000 })), null, 'no commands, no session');
  assert.equal(t.size, 1, 'the other connection is still open');
});

test('memory stays bounded: sessions, commands per session and command text in all', () => {
  const t = new SessionTracker({ maxSessions: 50, maxCommands: 10, maxBytes: 64 * 1024 });
  for (let i = 0; i < 5000; i++) t.feed(rec({ event: 'command', src_port: 1024 + (i % 3000), fields: { command: 'x'.repeat(1500) } }));
  assert.ok(t.size <= 50, `${t.size} sessions`);
  assert.ok(t.heldChars <= 64 * 1024, `${t.heldChars} characters held`);
  assert.ok(t.evicted > 0);
  const one = new SessionTracker({ maxCommands: 3 });
  for (let i = 0; i < 10; i++) one.feed(rec({ event: 'command', fields: { command: `c${i}` } }));
  const ended = one.feed(rec({ event: 'disconnect' }))!;
  assert.equal(ended.commands.length, 3);
  assert.equal(ended.commands_dropped, 7);
  assert.equal(one.heldChars, 0, 'an ended session releases its memory');
});
