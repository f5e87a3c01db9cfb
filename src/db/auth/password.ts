// Password hashing with scrypt (memory-hard, in node:crypto). Stored as
//   scrypt$<log2 N>$<r>$<p>$<salt base64>$<key base64>
// so the cost can be raised later: needsRehash() tells when a stored hash is below the current cost.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { DataError } from '../values.ts';

const LOG2_N = 15; // N = 32768: 32 MiB and ~50-100 ms per hash
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the work an unauthenticated login request can cause. */
export const MAX_PASSWORD_LENGTH = 1024;
const WEAK = new Set(['password', 'changeme', 'admin', 'secret', 'letmein', 'qwerty', '123456789012', 'passwordpassword', 'adminadminadmin']);

function derive(password: string, salt: Buffer, log2n: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2n;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw new DataError('password', 'must not be empty');
  if (password.length > MAX_PASSWORD_LENGTH) throw new DataError('password', `is longer than ${MAX_PASSWORD_LENGTH} characters`);
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, LOG2_N, R, P);
  return `scrypt$${LOG2_N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface Parsed {
  log2n: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parse(stored: string): Parsed | undefined {
  const parts = typeof stored === 'string' ? stored.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [log2n, r, p] = parts.slice(1, 4).map(Number);
  // Bounds keep a tampered row from making verification allocate gigabytes.
  if (!Number.isInteger(log2n) || log2n < 10 || log2n > 20 || !Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || key.length !== KEY_LENGTH) return undefined;
  return { log2n, r, p, salt, key };
}

/** True when `password` matches `stored`; the comparison takes the same time wherever they differ. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed || typeof password !== 'string' || password.length > MAX_PASSWORD_LENGTH) return false;
  const key = await derive(password, parsed.salt, parsed.log2n, parsed.r, parsed.p);
  return timingSafeEqual(key, parsed.key);
}

export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.log2n < LOG2_N || parsed.r < R;
}

/** A hash that matches no password: verified against when a user does not exist, so both cases cost the same. */
export const UNUSABLE_HASH = `scrypt$${LOG2_N}$${R}$${P}$${Buffer.alloc(SALT_LENGTH).toString('base64')}$${Buffer.alloc(KEY_LENGTH).toString('base64')}`;

/** Rules for a password a person chooses: an error message, or undefined when acceptable. */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== 'string') return 'must be a string';
  if (password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `must be at most ${MAX_PASSWORD_LENGTH} characters`;
  if (WEAK.has(password.toLowerCase()) || /^(.)\1+$/.test(password)) return 'is too easy to guess';
  return undefined;
}

/** A random password for a generated account (24 URL-safe characters, 144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
