// The token signing key: DECNET_JWT_SECRET, else a random key kept in <data dir>/jwt.secret
// (created 0600 on first start, so tokens survive an API restart). A key anyone else can read
// would let them mint admin tokens, so a group- or world-readable file is tightened to 0600, or
// refused when that is not possible.
import { chmodSync, closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { dataDir, ensureDir } from '../../core/paths.ts';

const MIN_SECRET_LENGTH = 32;
const KNOWN_BAD = new Set(['secret', 'changeme', 'change-me', 'password', 'fallback-secret-key-change-me', 'your-secret-key', 'jwt-secret']);

export function jwtSecretPath(): string {
  return join(dataDir(), 'jwt.secret');
}

export function loadJwtSecret(env: NodeJS.ProcessEnv = process.env, path = jwtSecretPath()): Buffer {
  const fromEnv = env.DECNET_JWT_SECRET;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < MIN_SECRET_LENGTH) throw new ConfigError(`DECNET_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`)`);
    if (KNOWN_BAD.has(fromEnv.toLowerCase()) || /^(.)\1+$/.test(fromEnv)) throw new ConfigError('DECNET_JWT_SECRET is a well-known or trivial value; use a random one (e.g. `openssl rand -base64 48`)');
    return Buffer.from(fromEnv, 'utf8');
  }
  if (!existsSync(path)) {
    ensureDir(join(path, '..'), 0o700);
    try {
      // 'wx': never overwrite a key another process created a moment ago
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, randomBytes(48).toString('base64url') + '\n');
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot create the token signing key ${path}: ${(err as Error).message}`);
    }
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    try {
      chmodSync(path, 0o600);
    } catch {
      throw new ConfigError(`${path} is readable by other users (mode ${mode.toString(8)}); run \`chmod 600 ${path}\``);
    }
  }
  const key = readFileSync(path, 'utf8').trim();
  if (key.length < MIN_SECRET_LENGTH) throw new ConfigError(`${path} holds a key shorter than ${MIN_SECRET_LENGTH} characters; delete it and restart to generate a new one`);
  return Buffer.from(key, 'utf8');
}
