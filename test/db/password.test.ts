// Password hashing: scrypt, salted, self-describing, constant-time verification, bounded cost.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { UNUSABLE_HASH, hashPassword, needsRehash, passwordProblem, verifyPassword } from '../../src/db/auth/password.ts';

it('hashes with a fresh salt and verifies', async () => {
  const a = await hashPassword('correct horse battery staple');
  const b = await hashPassword('correct horse battery staple');
  assert.match(a, /^scrypt\$15\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  assert.notEqual(a, b, 'salted');
  assert.equal(await verifyPassword('correct horse battery staple', a), true);
  assert.equal(await verifyPassword('correct horse battery stapl', a), false);
  assert.equal(needsRehash(a), false);
});

it('never accepts a malformed or tampered hash, and bounds its cost', async () => {
  assert.equal(await verifyPassword('', UNUSABLE_HASH), false);
  assert.equal(await verifyPassword('x', 'bcrypt$2b$...'), false);
  const huge = `scrypt$30$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;
  assert.equal(await verifyPassword('x', huge), false, 'N=2^30 would allocate 128 GiB: refused');
  assert.equal(needsRehash(`scrypt$14$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`), true);
  await assert.rejects(hashPassword('x'.repeat(1025)), /longer than 1024/);
  assert.equal(await verifyPassword('x'.repeat(5000), await hashPassword('short but fine')), false);
});

it('says what is wrong with a chosen password', () => {
  assert.equal(passwordProblem('eleven char'), 'must be at least 12 characters');
  assert.equal(passwordProblem('aaaaaaaaaaaaaaa'), 'is too easy to guess');
  assert.equal(passwordProblem('PasswordPassword'), 'is too easy to guess');
  assert.equal(passwordProblem('a sound passphrase'), undefined);
});
