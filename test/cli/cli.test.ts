// The CLI as a user meets it, run from the built bundle: help, version, unknown commands and
// options, and the import floor of `--help` and `decnet bus`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_BUILT, testDirs } from '../helpers/env.ts';
import { matching, recordModules } from '../helpers/module-recorder.ts';

const run = (args: string[], env?: NodeJS.ProcessEnv) => spawnSync(process.execPath, [CLI_BUILT, ...args], { encoding: 'utf8', env: env ?? process.env });

test('decnet --help lists every visible command, grouped', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  for (const heading of ['Fleet', 'Inspect', 'Workers']) assert.match(r.stdout, new RegExp(`^${heading}`, 'm'));
  for (const cmd of ['up', 'supervise', 'status', 'mem', 'init', 'bus']) assert.match(r.stdout, new RegExp(`^  ${cmd} +\\S`, 'm'), cmd);
  assert.doesNotMatch(r.stdout, /^  idle /m, 'diagnostic workers are hidden');
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour when stdout is not a TTY');
});

test('decnet --version and decnet <cmd> --help', () => {
  const v = run(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^decnet \d+\.\d+\.\d+/);
  const h = run(['up', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /Usage: decnet up/);
  assert.match(h.stdout, /--layout LAYOUT/);
});

test('an unknown command or option exits 2 with a suggestion', () => {
  const c = run(['stauts']);
  assert.equal(c.status, 2);
  assert.match(c.stderr, /unknown command "stauts" \(did you mean status\?\)/);
  const o = run(['status', '--jsn']);
  assert.equal(o.status, 2);
  assert.match(o.stderr, /unknown option --jsn \(did you mean --json\?\)/);
  const l = run(['up', '--layout', 'sideways']);
  assert.equal(l.status, 2);
  assert.match(l.stderr, /must be one of isolated, grouped, single/);
});

test('decnet --help loads no command implementation', async () => {
  const rec = await recordModules(['--help']);
  assert.equal(rec.code, 0);
  const loaded = rec.sources.filter((s) => s.startsWith('src/'));
  const allowed = new Set(['src/cli/main.ts', 'src/cli/commands.ts', 'src/cli/worker-command.ts', 'src/cli/args.ts', 'src/core/errors.ts', 'src/fleet/registry.ts']);
  const extra = loaded.filter((s) => !allowed.has(s) && !s.startsWith('src/cli/table/') && !s.endsWith('catalog.ts'));
  assert.deepEqual(extra, [], `--help loaded ${extra.join(', ')}`);
  assert.ok(rec.sources.includes('src/cli/main.ts'), 'the recorder saw the entry');
  assert.deepEqual(rec.sources.filter((s) => s.startsWith('node_modules/')), [], 'no dependency loaded');
});

test('decnet bus loads nothing of the database layer, no decoy code and no NATS client', async () => {
  const dirs = testDirs();
  try {
    const rec = await recordModules(['bus', '--socket', dirs.socket], { env: dirs.env, until: () => existsSync(dirs.socket) });
    assert.equal(rec.code, 0, rec.stderr);
    assert.ok(rec.sources.some((s) => s.startsWith('src/bus/')), 'the broker was loaded');
    assert.deepEqual(matching(rec, 'src/db/'), []);
    assert.deepEqual(matching(rec, 'src/deckies/'), []);
    assert.deepEqual(rec.sources.filter((s) => /node_modules\/(kysely|pg|ssh2|@nats-io)\//.test(s)), []);
    assert.ok(!rec.builtins.includes('node:sqlite'), 'node:sqlite not loaded');
  } finally {
    dirs.cleanup();
  }
});

test('decnet fleet validates a spec file and reports the bad line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-spec-'));
  try {
    const file = join(dir, 'bad.fleet');
    execFileSync('sh', ['-c', `printf '[process a]\\nworkers = bus, nope\\n' > ${file}`]);
    const r = run(['fleet', '--fleet', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.fleet:2: unknown worker 'nope'/);
    const ok = run(['fleet', '--json']);
    assert.equal(ok.status, 0);
    assert.equal(JSON.parse(ok.stdout).processes[0].name, 'bus');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('decnet init --dry-run --out writes the units; without --dry-run it refuses unless root', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-units-'));
  try {
    const r = run(['init', '--dry-run', '--out', dir]);
    assert.equal(r.status, 0, r.stderr);
    const target = readFileSync(join(dir, 'decnet.target'), 'utf8');
    assert.match(target, /Wants=decnet-bus\.service/);
    assert.match(readFileSync(join(dir, 'decnet-bus.service'), 'utf8'), /^MemoryMax=\d+$/m);
    if (process.getuid?.() !== 0) {
      const refused = run(['init']);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /must run as root/);
    } else {
      // As root, prove the refusal path by dropping privileges for the child.
      const refused = spawnSync(process.execPath, [CLI_BUILT, 'init'], { encoding: 'utf8', uid: 65534, gid: 65534 });
      if (refused.error) {
        t.skip(`cannot run the refusal check as uid 65534 here: ${refused.error.message}`);
        return;
      }
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, /must run as root/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
