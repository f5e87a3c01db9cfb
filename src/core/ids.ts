// UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits, so ids sort by time.
// Random bytes come from a pooled buffer to keep minting cheap on hot paths (bus, ingest).
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;
let lastMs = 0;
let sequence = 0;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function randomBytes10(): Buffer {
  if (poolOffset + 10 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  return slice;
}

/** Writes a UUIDv7 as 16 bytes into `out` at `offset`. Monotonic within a process. */
export function uuidv7Bytes(out: Uint8Array, offset = 0, nowMs = Date.now()): void {
  const rand = randomBytes10();
  // A 12-bit sequence in rand_a keeps ids minted in the same millisecond ordered.
  if (nowMs <= lastMs) {
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) lastMs += 1;
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    sequence = rand[0] & 0x7f; // random start, leaves room to count up
  }
  const high = Math.floor(nowMs / 0x1000000);
  const low = nowMs % 0x1000000;
  out[offset] = (high >>> 16) & 0xff;
  out[offset + 1] = (high >>> 8) & 0xff;
  out[offset + 2] = high & 0xff;
  out[offset + 3] = (low >>> 16) & 0xff;
  out[offset + 4] = (low >>> 8) & 0xff;
  out[offset + 5] = low & 0xff;
  out[offset + 6] = 0x70 | ((sequence >>> 8) & 0x0f);
  out[offset + 7] = sequence & 0xff;
  out[offset + 8] = 0x80 | (rand[2] & 0x3f);
  for (let i = 9; i < 16; i++) out[offset + i] = rand[i - 6];
}

export function formatUuid(bytes: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[bytes[offset + i]];
  }
  return s;
}

const scratch = new Uint8Array(16);
export function uuidv7(nowMs = Date.now()): string {
  uuidv7Bytes(scratch, 0, nowMs);
  return formatUuid(scratch);
}
