// Reads complete lines from an append-only log, from a byte offset the caller persists.
//
// - Only whole lines (ending in '\n') are returned; a partial last line waits for its newline.
// - A line longer than `maxLineBytes` is skipped up to its newline and counted, never buffered.
// - Truncation (copytruncate: same file, now shorter than the offset, or regrown with different
//   first bytes) restarts the file from 0.
// - Rename rotation (the path now names another file): the old file stays open and is drained
//   until it has been quiet for `rotateGraceMs` (the writer may append a little longer before it
//   notices), while the new file is read from 0. A rotation that happened while nothing was
//   running is found again by inode among the log's siblings (decoy.log.1 …).
//
// The position (TailState) is plain JSON: the ingester stores it in the same transaction as the
// rows it read, so a crash resumes exactly after the last committed line.
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../core/log.ts';

export interface FilePosition {
  dev: number;
  ino: number;
  /** First byte not yet consumed. */
  offset: number;
  /** Inside an over-long line: discard up to the next newline. */
  skipping: boolean;
  /** Hex of the file's first bytes when they were last seen (detects truncate-and-regrow). */
  head: string;
}

export interface TailState {
  v: 1;
  path: string;
  active: FilePosition | null;
  /** Rotated-away files still being drained, oldest first. */
  draining: FilePosition[];
}

export interface TailLine {
  text: string;
  /** Byte offset of the line's start in its file. */
  offset: number;
}

export interface TailBatch {
  lines: TailLine[];
  /** The position after these lines: persist it with them. */
  state: TailState;
}

export interface TailStats {
  oversize: number;
  truncations: number;
  rotations: number;
  /** Rotated files that could not be found again after a restart (their unread tail is lost). */
  lostRotations: number;
}

export interface TailOptions {
  maxLineBytes?: number;
  /** Bytes per read call; must exceed maxLineBytes. */
  chunkBytes?: number;
  rotateGraceMs?: number;
  log?: Logger;
}

const HEAD_BYTES = 64;

interface OpenFile {
  fh: FileHandle;
  pos: FilePosition;
  /** Drained file: when the last growth or the rotation was seen. */
  quietSince: number;
}

export class LogTail {
  readonly path: string;
  readonly stats: TailStats = { oversize: 0, truncations: 0, rotations: 0, lostRotations: 0 };
  private readonly maxLine: number;
  private readonly chunk: Buffer;
  private readonly graceMs: number;
  private readonly log?: Logger;
  private active: OpenFile | null = null;
  private draining: OpenFile[] = [];

  constructor(path: string, opts: TailOptions = {}) {
    this.path = path;
    this.maxLine = opts.maxLineBytes ?? 65_536;
    const chunkBytes = opts.chunkBytes ?? 256 * 1024;
    if (chunkBytes <= this.maxLine) throw new Error(`chunkBytes (${chunkBytes}) must exceed maxLineBytes (${this.maxLine})`);
    this.chunk = Buffer.allocUnsafe(chunkBytes);
    this.graceMs = opts.rotateGraceMs ?? 10_000;
    this.log = opts.log;
  }

  /** Reopens the files of a saved position (or starts at the beginning of the log). */
  async restore(saved: TailState | undefined): Promise<void> {
    await this.close();
    const now = Date.now();
    const current = await stat(this.path).catch(() => undefined);
    for (const d of saved?.draining ?? []) {
      const found = await this.findByInode(d);
      if (found) this.draining.push({ fh: found, pos: { ...d }, quietSince: now });
      else this.lostRotation(d);
    }
    const a = saved?.active;
    if (a && current && current.dev === a.dev && current.ino === a.ino) {
      this.active = { fh: await open(this.path, 'r'), pos: { ...a }, quietSince: now };
      return;
    }
    if (a) {
      // The log was rotated while we were not running: finish the old file first.
      const found = await this.findByInode(a);
      if (found) {
        this.draining.push({ fh: found, pos: { ...a }, quietSince: now });
        this.stats.rotations++;
      } else if (a.offset > 0) this.lostRotation(a);
    }
    if (current) await this.openActive();
  }

  private lostRotation(pos: FilePosition): void {
    this.stats.lostRotations++;
    this.log?.warn('a rotated event log could not be found again; its unread end is skipped', { path: this.path, inode: pos.ino, offset: pos.offset });
  }

  private async findByInode(pos: FilePosition): Promise<FileHandle | undefined> {
    const dir = dirname(this.path);
    const base = basename(this.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return undefined;
    }
    for (const name of names) {
      if (!name.startsWith(base)) continue;
      const full = join(dir, name);
      const s = await stat(full).catch(() => undefined);
      if (s && s.isFile() && s.dev === pos.dev && s.ino === pos.ino) return open(full, 'r').catch(() => undefined);
    }
    return undefined;
  }

  private async openActive(): Promise<void> {
    const fh = await open(this.path, 'r').catch(() => undefined);
    if (!fh) return;
    const s = await fh.stat();
    this.active = { fh, pos: { dev: s.dev, ino: s.ino, offset: 0, skipping: false, head: '' }, quietSince: Date.now() };
  }

  /** The position of what has been returned so far. */
  state(): TailState {
    return { v: 1, path: this.path, active: this.active ? { ...this.active.pos } : null, draining: this.draining.map((d) => ({ ...d.pos })) };
  }

  /** Bytes not yet read (both files), for health and lag reporting. */
  async lagBytes(): Promise<number> {
    let lag = 0;
    for (const f of [...this.draining, this.active]) {
      if (!f) continue;
      const s = await f.fh.stat().catch(() => undefined);
      if (s) lag += Math.max(0, s.size - f.pos.offset);
    }
    return lag;
  }

  /** Up to `maxLines` complete lines: the rotated files' first (oldest first), then the active file's. */
  async read(maxLines: number): Promise<TailBatch> {
    await this.checkPath();
    const lines: TailLine[] = [];
    for (const d of [...this.draining]) {
      if (lines.length >= maxLines) break;
      const grew = await this.readFile(d, lines, maxLines);
      const now = Date.now();
      if (grew) d.quietSince = now;
      else if (lines.length < maxLines && now - d.quietSince >= this.graceMs) {
        await d.fh.close().catch(() => undefined);
        this.draining.splice(this.draining.indexOf(d), 1);
      }
    }
    if (this.active && lines.length < maxLines) await this.readFile(this.active, lines, maxLines);
    return { lines, state: this.state() };
  }

  /** Notices rotation (the path names another file) and truncation of the active file. */
  private async checkPath(): Promise<void> {
    const onDisk = await stat(this.path).catch(() => undefined);
    if (!this.active) {
      if (onDisk) await this.openActive();
      return;
    }
    if (onDisk && (onDisk.ino !== this.active.pos.ino || onDisk.dev !== this.active.pos.dev)) {
      this.stats.rotations++;
      this.draining.push({ ...this.active, quietSince: Date.now() });
      this.active = null;
      await this.openActive();
      return;
    }
    const s = await this.active.fh.stat();
    const pos = this.active.pos;
    let truncated = s.size < pos.offset;
    if (!truncated && pos.offset > 0 && pos.head !== '') {
      const head = await this.readHead(this.active.fh, Math.min(HEAD_BYTES, pos.head.length / 2));
      truncated = head !== pos.head;
    }
    if (truncated) {
      this.stats.truncations++;
      this.log?.info('event log truncated; reading it again from the start', { path: this.path, offset: pos.offset, size: s.size });
      this.active.pos = { ...pos, offset: 0, skipping: false, head: '' };
    }
  }

  private async readHead(fh: FileHandle, length: number): Promise<string> {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead).toString('hex');
  }

  /** Appends complete lines of one file to `out`; returns true if any bytes were consumed. */
  private async readFile(f: OpenFile, out: TailLine[], maxLines: number): Promise<boolean> {
    let consumed = false;
    while (out.length < maxLines) {
      const pos = f.pos;
      const { bytesRead } = await f.fh.read(this.chunk, 0, this.chunk.length, pos.offset);
      if (bytesRead === 0) break;
      const buf = this.chunk.subarray(0, bytesRead);
      let start = 0;
      let offset = pos.offset;
      let skipping = pos.skipping;
      for (;;) {
        if (out.length >= maxLines) break;
        const nl = buf.indexOf(10, start);
        if (nl < 0) break;
        const length = nl - start;
        if (skipping) skipping = false;
        else if (length > this.maxLine) this.stats.oversize++;
        else {
          const end = length > 0 && buf[nl - 1] === 13 ? nl - 1 : nl;
          if (end > start) out.push({ text: buf.toString('utf8', start, end), offset: offset + start });
        }
        start = nl + 1;
      }
      const next = pos.offset + start;
      if (start === 0 && bytesRead === this.chunk.length) {
        // A whole chunk without a newline: the line is over-long; drop it up to its newline.
        if (!skipping) this.stats.oversize++;
        skipping = true;
        f.pos = { ...pos, offset: pos.offset + bytesRead, skipping };
        consumed = true;
        continue;
      }
      if (start === 0 && skipping) {
        // Still inside an over-long line: consume what is there.
        f.pos = { ...pos, offset: pos.offset + bytesRead };
        consumed = true;
        break;
      }
      if (start === 0 && bytesRead > this.maxLine) {
        // An unfinished line already longer than allowed: start skipping now, keep memory bounded.
        this.stats.oversize++;
        f.pos = { ...pos, offset: pos.offset + bytesRead, skipping: true };
        consumed = true;
        continue;
      }
      if (start === 0) break; // a partial line: wait for the rest
      consumed = true;
      f.pos = { ...pos, offset: next, skipping };
      if (f.pos.head === '' || f.pos.head.length < HEAD_BYTES * 2) f.pos.head = await this.readHead(f.fh, HEAD_BYTES);
      if (bytesRead < this.chunk.length && out.length < maxLines) break; // reached the end
    }
    return consumed;
  }

  async close(): Promise<void> {
    for (const f of [this.active, ...this.draining]) await f?.fh.close().catch(() => undefined);
    this.active = null;
    this.draining = [];
  }
}
