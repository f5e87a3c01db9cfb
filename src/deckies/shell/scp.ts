// The receiving end of `scp -t` (an upload to the decoy): the rcp protocol's C/D/E/T control
// lines, acknowledged one by one. Content is handed to the caller (quarantine), capped; bytes
// beyond the cap are consumed and counted but not kept.

export interface ScpUpload {
  /** File name as sent, prefixed with the directories entered under the target (`d/e/name`). */
  name: string;
  mode: string;
  data: Buffer;
  /** Declared size; larger than data.length when truncated. */
  size: number;
  truncated: boolean;
}

export interface ScpSinkOptions {
  /** Bytes kept per file. */
  maxFileBytes: number;
  /** Files accepted per session. */
  maxFiles: number;
  reply(data: Buffer): void;
  onFile(upload: ScpUpload): void;
  /** The protocol is finished or broken; `error` is the message sent to the client. */
  onDone(status: number, error?: string): void;
}

const OK = Buffer.from([0]);
const MAX_LINE = 1024;

export class ScpSink {
  private readonly opts: ScpSinkOptions;
  private buf: Buffer = Buffer.alloc(0);
  private dirs: string[] = [];
  private file: { name: string; mode: string; size: number; received: number; chunks: Buffer[]; kept: number } | undefined;
  private files = 0;
  private done = false;

  constructor(opts: ScpSinkOptions) {
    this.opts = opts;
    opts.reply(OK);
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.done && this.buf.length > 0) {
      if (this.file) {
        if (!this.consumeData()) return;
        continue;
      }
      const nl = this.buf.indexOf(0x0a);
      if (nl === -1) {
        if (this.buf.length > MAX_LINE) this.fail('protocol error: line too long');
        return;
      }
      const line = this.buf.toString('utf8', 0, nl);
      this.buf = this.buf.subarray(nl + 1);
      this.control(line);
    }
  }

  end(): void {
    if (!this.done) this.finish(0);
  }

  private control(line: string): void {
    const kind = line[0];
    if (kind === 'T') { this.opts.reply(OK); return; }
    if (kind === 'E') { this.dirs.pop(); this.opts.reply(OK); return; }
    const m = /^([CD])([0-7]{4}) (\d{1,15}) (.{1,255})$/.exec(line);
    if (!m || m[4]!.includes('/') || m[4] === '..' || m[4] === '.') {
      this.fail(`protocol error: ${line.slice(0, 64)}`);
      return;
    }
    if (m[1] === 'D') {
      if (this.dirs.length >= 16) { this.fail('protocol error: too deep'); return; }
      this.dirs.push(m[4]!);
      this.opts.reply(OK);
      return;
    }
    if (this.files >= this.opts.maxFiles) { this.fail('protocol error: too many files'); return; }
    this.file = { name: m[4]!, mode: m[2]!, size: Number(m[3]), received: 0, chunks: [], kept: 0 };
    this.opts.reply(OK);
  }

  /** Reads file bytes and the trailing status byte; false when more input is needed. */
  private consumeData(): boolean {
    const f = this.file!;
    const want = f.size - f.received;
    if (want > 0) {
      const take = this.buf.subarray(0, Math.min(want, this.buf.length));
      this.buf = this.buf.subarray(take.length);
      f.received += take.length;
      const room = this.opts.maxFileBytes - f.kept;
      if (room > 0) {
        const keep = take.subarray(0, room);
        f.chunks.push(Buffer.from(keep));
        f.kept += keep.length;
      }
      if (f.received < f.size) return false;
    }
    if (this.buf.length === 0) return false;
    // The sender ends each file with a status byte.
    this.buf = this.buf.subarray(1);
    this.file = undefined;
    this.files++;
    const prefix = this.dirs.length ? this.dirs.join('/') + '/' : '';
    this.opts.onFile({ name: prefix + f.name, mode: f.mode, data: Buffer.concat(f.chunks), size: f.size, truncated: f.kept < f.size });
    this.opts.reply(OK);
    return true;
  }

  private fail(message: string): void {
    this.opts.reply(Buffer.from(`\x01scp: ${message}\n`));
    this.finish(1, message);
  }

  private finish(status: number, error?: string): void {
    this.done = true;
    this.buf = Buffer.alloc(0);
    this.opts.onDone(status, error);
  }
}
