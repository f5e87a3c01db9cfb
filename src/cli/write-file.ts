// Writes a command's output file whole or not at all: a temporary file beside it, then a rename,
// so a reader never sees half an export.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DecnetError } from '../core/errors.ts';

export function writeFileAtomic(path: string, text: string, mode = 0o640): void {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, text, { mode, flag: 'wx' });
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new DecnetError(`cannot write ${path}: ${(err as Error).message}`);
  }
}
