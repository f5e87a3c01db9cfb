// Stores attacker-supplied content (uploads, mail, dropped payloads) for analysis:
// <dataDir>/quarantine/<decky>/<kind>/<sha256> plus <sha256>.json with its metadata.
// Content is named by its hash only (never by the attacker's file name), written 0640 and never
// executed; identical content is stored once. Per-file and per-host-lifetime size caps apply.
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/log.ts';
import type { QuarantinedFile } from './service.ts';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface QuarantineStats {
  files: number;
  bytes: number;
  refused: number;
}

/** Strips an attacker-chosen name to something printable and short, for the metadata only. */
function cleanName(name: string): string {
  const base = name.replace(/^.*[\\/]/, '');
  return base.replace(/[^\x20-\x7e]/g, '?').slice(0, 255);
}

export class Quarantine {
  readonly root: string;
  private readonly fileCap: number;
  private readonly totalCap: number;
  private readonly log?: Logger;
  private files = 0;
  private bytes = 0;
  private refused = 0;

  constructor(root: string, opts: { fileCap: number; totalCap: number; log?: Logger }) {
    this.root = root;
    this.fileCap = opts.fileCap;
    this.totalCap = opts.totalCap;
    this.log = opts.log;
  }

  /** Never rejects: failures and refusals resolve with `stored: false` and are logged. */
  async store(decky: string, service: string, kind: string, suggestedName: string, data: Buffer, maxBytes?: number): Promise<QuarantinedFile> {
    const cap = Math.max(0, Math.min(maxBytes ?? this.fileCap, this.fileCap));
    const truncated = data.length > cap;
    const body = truncated ? data.subarray(0, cap) : data;
    const sha256 = createHash('sha256').update(body).digest('hex');
    const result: QuarantinedFile = { path: '', sha256, size: body.length, truncated, originalSize: data.length, stored: false };
    if (!SAFE_SEGMENT.test(decky) || !SAFE_SEGMENT.test(kind)) {
      this.refused++;
      this.log?.error('quarantine: decky and kind must be [A-Za-z0-9._-] (at most 64)', { decky, kind, service });
      return result;
    }
    if (this.bytes + body.length > this.totalCap) {
      this.refused++;
      this.log?.warn('quarantine: total size cap reached; content not stored', { decky, service, kind, sha256, cap: this.totalCap });
      return result;
    }
    const dir = join(this.root, decky, kind);
    const path = join(dir, sha256);
    try {
      await mkdir(dir, { recursive: true, mode: 0o750 });
      const exists = await stat(path).then(
        () => true,
        () => false,
      );
      if (!exists) {
        const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
        await writeFile(tmp, body, { mode: 0o640, flag: 'wx' });
        await rename(tmp, path);
        const meta = { name: cleanName(suggestedName), sha256, size: body.length, original_size: data.length, truncated, decky, service, kind, ts: new Date().toISOString() };
        await writeFile(`${path}.json`, JSON.stringify(meta) + '\n', { mode: 0o640 });
        this.files++;
        this.bytes += body.length;
      }
      result.path = path;
      result.stored = true;
    } catch (err) {
      this.refused++;
      this.log?.error('quarantine: write failed', { path, err });
    }
    return result;
  }

  stats(): QuarantineStats {
    return { files: this.files, bytes: this.bytes, refused: this.refused };
  }
}
