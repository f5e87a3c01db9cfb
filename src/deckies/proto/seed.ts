// Deterministic per-decky values (ids, build hashes, uptimes, salts of bait data). A fleet whose
// deckies all report the same cluster uuid or run_id is easy to spot; values derived from the
// decky's name and a label differ between deckies yet stay stable across restarts, as a real
// server's would.
import { createHash } from 'node:crypto';

export class Seeded {
  private readonly base: string;
  private counter = 0;
  private pool = Buffer.alloc(0);

  constructor(...parts: string[]) {
    this.base = parts.join('\u0000');
  }

  /** `n` deterministic bytes; successive calls continue the same stream. */
  bytes(n: number): Buffer {
    while (this.pool.length < n) {
      const block = createHash('sha256').update(this.base).update(String(this.counter++)).digest();
      this.pool = Buffer.concat([this.pool, block]);
    }
    const out = this.pool.subarray(0, n);
    this.pool = this.pool.subarray(n);
    return Buffer.from(out);
  }

  hex(chars: number): string {
    return this.bytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars);
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    const span = max - min + 1;
    return min + (this.bytes(4).readUInt32BE(0) % span);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  uuid(): string {
    const h = this.bytes(16);
    h[6] = (h[6]! & 0x0f) | 0x40;
    h[8] = (h[8]! & 0x3f) | 0x80;
    const x = h.toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  /** URL-safe base64 id of `n` bytes (Elasticsearch node and cluster ids look like this). */
  base64id(n: number): string {
    return this.bytes(n).toString('base64url');
  }
}
