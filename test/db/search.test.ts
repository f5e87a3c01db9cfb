// The log search language: tokens, quoting, keys, and the errors for malformed input.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { parseLogSearch, SearchSyntaxError } from '../../src/db/logs/search.ts';

it('parses column keys, field keys and free text', () => {
  assert.deepEqual(parseLogSearch('decky:web1 service:ssh event:auth_attempt attacker:1.2.3.4 user:root scan'), [
    { kind: 'column', column: 'decky', value: 'web1' },
    { kind: 'column', column: 'service', value: 'ssh' },
    { kind: 'column', column: 'event_type', value: 'auth_attempt' },
    { kind: 'column', column: 'attacker_ip', value: '1.2.3.4' },
    { kind: 'field', key: 'user', value: 'root' },
    { kind: 'text', value: 'scan' },
  ]);
  assert.deepEqual(parseLogSearch('attacker-ip:::1 attacker_ip:10.0.0.1'), [
    { kind: 'column', column: 'attacker_ip', value: '::1' },
    { kind: 'column', column: 'attacker_ip', value: '10.0.0.1' },
  ]);
});

it('groups quoted text, keeps quoted tokens literal, and treats URLs as text', () => {
  assert.deepEqual(parseLogSearch(`msg:"bad login" "decky:web1" 'two words' "say \\"hi\\""`), [
    { kind: 'field', key: 'msg', value: 'bad login' },
    { kind: 'text', value: 'decky:web1' },
    { kind: 'text', value: 'two words' },
    { kind: 'text', value: 'say "hi"' },
  ]);
  assert.deepEqual(parseLogSearch('http://evil.example/x.sh'), [{ kind: 'text', value: 'http://evil.example/x.sh' }]);
  assert.deepEqual(parseLogSearch('a.b:c'), [{ kind: 'text', value: 'a.b:c' }], 'a key with punctuation is text');
  assert.deepEqual(parseLogSearch('   '), []);
  assert.deepEqual(parseLogSearch(null), []);
});

it('refuses malformed searches with a message saying what to fix', () => {
  const refuses = (input: string, message: RegExp) => assert.throws(() => parseLogSearch(input), (err: Error) => err instanceof SearchSyntaxError && message.test(err.message), input);
  refuses('decky:"web1', /search: unbalanced double quote at position 7; close it or remove it/);
  refuses("it's", /unbalanced single quote at position 3/);
  refuses('service:', /service: needs a value/);
  refuses('x'.repeat(513), /is 513 characters long; the limit is 512/);
  refuses(Array.from({ length: 25 }, (_, i) => `t${i}`).join(' '), /has 25 terms; the limit is 24/);
  refuses('a\u0000b', /control characters/);
});
