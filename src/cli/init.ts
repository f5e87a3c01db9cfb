// `decnet init`: renders one systemd unit per process of the fleet spec plus decnet.target; with
// --dry-run prints them (or writes them into --out DIR), otherwise installs them (root only).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ParsedArgs } from './args.ts';
import { loadFleetSpec, type Layout } from '../fleet/spec.ts';
import { renderUnits } from '../fleet/systemd.ts';
import { decnetEntry } from '../fleet/launcher.ts';
import { DecnetError, UsageError } from '../core/errors.ts';

const UNIT_DIR = '/etc/systemd/system';

export default async function init(args: ParsedArgs): Promise<number> {
  const specFile = args.options.fleet ? resolve(String(args.options.fleet)) : undefined;
  const spec = loadFleetSpec(specFile);
  const layout = (args.options.layout as Layout | undefined) ?? spec.layout;
  const user = String(args.options.user);
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) throw new UsageError(`--user ${JSON.stringify(user)} is not a valid user name`);
  const units = renderUnits({ spec, layout, specFile, user, nodePath: process.execPath, decnetPath: args.options.bin ? resolve(String(args.options.bin)) : decnetEntry() });
  const dryRun = args.options['dry-run'] === true;
  const out = args.options.out as string | undefined;
  if (out && !dryRun) throw new UsageError('--out goes with --dry-run (without it, units are installed into /etc/systemd/system)');

  if (dryRun) {
    if (out) {
      mkdirSync(out, { recursive: true });
      for (const u of units) writeFileSync(join(out, u.file), u.content);
      process.stdout.write(`wrote ${units.length} unit files into ${out}: ${units.map((u) => u.file).join(', ')}\n`);
    } else {
      for (const u of units) process.stdout.write(`### ${u.file}\n${u.content}\n`);
    }
    return 0;
  }

  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new DecnetError(`decnet init installs units into ${UNIT_DIR} and must run as root; use --dry-run [--out DIR] to see them first`, 1);
  }
  let changed = 0;
  for (const u of units) {
    const path = join(UNIT_DIR, u.file);
    if (existsSync(path) && readFileSync(path, 'utf8') === u.content) continue;
    writeFileSync(path, u.content, { mode: 0o644 });
    changed++;
    process.stdout.write(`installed ${path}\n`);
  }
  if (changed === 0) process.stdout.write('units already up to date\n');
  try {
    execFileSync('systemctl', ['daemon-reload'], { stdio: 'inherit' });
  } catch {
    process.stdout.write('note: `systemctl daemon-reload` failed or systemd is not running here; run it yourself\n');
  }
  process.stdout.write(`next: create the user '${user}' if needed, then \`systemctl enable --now decnet.target\`\n`);
  return 0;
}
