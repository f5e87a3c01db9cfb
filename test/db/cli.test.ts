// `decnet db migrate | status | reset` as an operator runs it (from source, on both dialects).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { forEachDialect, freshPostgresUrl, freshSqliteUrl } from './dialects.ts';
import { CLI_SOURCE } from '../helpers/env.ts';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [CLI_SOURCE, ...args], { encoding: 'utf8', env: { ...process.env, DECNET_ADMIN_PASSWORD: '', ...env } });

forEachDialect('decnet db', (ctx) => {
  it('migrate seeds the admin and prints a generated password once; status shows version and counts; reset needs --yes', async () => {
    const target = ctx.dialect === 'sqlite' ? freshSqliteUrl('cli') : freshPostgresUrl('cli');
    try {
      const before = cli(['db', 'status', '--url', target.url, '--json']);
      assert.equal(before.status, 0, before.stderr);
      const empty = JSON.parse(before.stdout);
      assert.deepEqual([empty.version, empty.latest, empty.tables.length, empty.tables[0].rows], [0, 1, 39, null]);

      const m = cli(['db', 'migrate', '--url', target.url]);
      assert.equal(m.status, 0, m.stderr);
      assert.match(m.stdout, /migrated from version 0 to 1 \(baseline\)/);
      assert.match(m.stdout, /admin user "admin" created/);
      assert.match(m.stdout, /generated admin password \(shown once[^)]*\): [A-Za-z0-9_-]{24}\n/);
      const again = cli(['db', 'migrate', '--url', target.url]);
      assert.match(again.stdout, /schema is up to date \(version 1\)/);
      assert.doesNotMatch(again.stdout, /password/, 'the password is shown only when it is generated');

      const status = cli(['db', 'status', '--url', target.url]);
      assert.equal(status.status, 0, status.stderr);
      assert.match(status.stdout, /schema +version 1 of 1: up to date/);
      assert.match(status.stdout, /^auth +users +1$/m);
      assert.match(status.stdout, /^logs +logs +0$/m);

      const refused = cli(['db', 'reset', '--url', target.url]);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /deletes every DECNET table and row .*; run it again with --yes/);
      const reset = cli(['db', 'reset', '--yes', '--url', target.url, '--json']);
      assert.equal(reset.status, 0, reset.stderr);
      const r = JSON.parse(reset.stdout);
      assert.deepEqual([r.removed_rows, r.to, r.admin.created], [1, 1, true]);
    } finally {
      await target.drop();
    }
  });
});

it('bad input: an unknown action, an unknown URL scheme, a weak admin password', async () => {
  const target = freshSqliteUrl('cli-bad');
  try {
    const action = cli(['db', 'upgrade', '--url', target.url]);
    assert.equal(action.status, 2);
    assert.match(action.stderr, /unknown action "upgrade"; use one of migrate, status, reset/);
    const scheme = cli(['db', 'status'], { DECNET_DB_URL: 'mysql://root@localhost/decnet' });
    assert.equal(scheme.status, 2);
    assert.match(scheme.stderr, /DECNET_DB_URL: unsupported database "mysql:"/);
    const weak = cli(['db', 'migrate', '--url', target.url], { DECNET_ADMIN_PASSWORD: 'changeme' });
    assert.equal(weak.status, 2);
    assert.match(weak.stderr, /DECNET_ADMIN_PASSWORD must be at least 12 characters/);
    const help = spawnSync(process.execPath, [CLI_SOURCE, '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /^Data\n {2}db +the database schema/m);
  } finally {
    await target.drop();
  }
});
