// A bounded queue of outgoing frames for one socket. Frames are views into slab memory; frames that
// sit next to each other in memory are merged into one run, so a tick's worth of frames usually
// leaves in a single write. When the queue is full the OLDEST frame is dropped and counted: a slow
// peer only ever hurts itself, and a publisher is never blocked.

interface Run {
  mem: Buffer; // the whole backing store of the frames in this run
  start: number;
  end: number;
}

export class OutQueue {
  maxFrames: number;
  readonly maxBytes: number;
  private runs: Run[] = [];
  private head = 0;
  frames = 0;
  bytes = 0;
  drops = 0;

  /** Told about each dropped frame (its memory and start), e.g. to attribute the drop. */
  private readonly onDrop: ((mem: Buffer, start: number) => void) | undefined;

  constructor(maxFrames: number, maxBytes: number, onDrop?: (mem: Buffer, start: number) => void) {
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
    this.onDrop = onDrop;
  }

  get empty(): boolean {
    return this.frames === 0;
  }

  /** Queues a frame (a complete length-prefixed frame). Returns the number of frames dropped to make room. */
  push(frame: Buffer): number {
    const len = frame.length;
    let dropped = 0;
    while (this.frames > 0 && (this.frames >= this.maxFrames || this.bytes + len > this.maxBytes)) {
      this.dropOldest();
      dropped++;
    }
    const runs = this.runs;
    const last = runs.length > this.head ? runs[runs.length - 1] : undefined;
    const offset = frame.byteOffset;
    if (last !== undefined && last.mem.buffer === frame.buffer && last.end === offset) {
      last.end = offset + len;
    } else {
      const mem = Buffer.from(frame.buffer, 0, frame.buffer.byteLength);
      runs.push({ mem, start: offset, end: offset + len });
    }
    this.frames++;
    this.bytes += len;
    return dropped;
  }

  /** Drops frames beyond a (possibly lowered) limit. Returns how many were dropped. */
  trimTo(maxFrames: number): number {
    let dropped = 0;
    while (this.frames > maxFrames) {
      this.dropOldest();
      dropped++;
    }
    return dropped;
  }

  private dropOldest(): void {
    const run = this.runs[this.head];
    const len = 4 + run.mem.readUInt32BE(run.start);
    this.onDrop?.(run.mem, run.start);
    run.start += len;
    this.frames--;
    this.bytes -= len;
    this.drops++;
    if (run.start >= run.end) this.shiftRun();
  }

  private shiftRun(): void {
    this.head++;
    if (this.head === this.runs.length) {
      this.runs = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.runs.length) {
      this.runs = this.runs.slice(this.head);
      this.head = 0;
    }
  }

  /** Removes everything queued and returns it as buffers ready to write (usually one). */
  takeAll(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = this.head; i < this.runs.length; i++) {
      const r = this.runs[i];
      out.push(r.mem.subarray(r.start, r.end));
    }
    this.runs = [];
    this.head = 0;
    this.frames = 0;
    this.bytes = 0;
    return out;
  }

  clear(): void {
    this.runs = [];
    this.head = 0;
    this.frames = 0;
    this.bytes = 0;
  }
}
