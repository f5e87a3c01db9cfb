// JSON Web Tokens, HS256 only, with node:crypto. Only what DECNET issues is accepted: the header
// must say HS256 (an "alg":"none" or RS/HS confusion token fails), and issuer, audience, type,
// expiry and the required claims are all checked.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const ISSUER = 'decnet';
export const AUDIENCE = 'decnet-dashboard';
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
/** A token longer than this is not one of ours (bounds the work of a hostile header). */
const MAX_TOKEN_LENGTH = 2048;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface AccessClaims {
  /** User uuid. */
  sub: string;
  jti: string;
  /** Seconds since the epoch (RFC 7519 NumericDate). */
  iat: number;
  exp: number;
  /** Milliseconds of issue, so a password change revokes tokens issued earlier in the same second. */
  iat_ms: number;
  iss: string;
  aud: string;
  typ: 'access';
}

export class TokenError extends Error {
  constructor(message: string) {
    // refused tokens can come in floods; a stack trace would be most of their cost
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'TokenError';
  }
}

function sign(secret: Buffer, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

export function newJti(): string {
  return randomBytes(16).toString('base64url');
}

export function issueAccessToken(secret: Buffer, sub: string, ttlS: number, nowMs = Date.now()): { token: string; claims: AccessClaims } {
  const iat = Math.floor(nowMs / 1000);
  const claims: AccessClaims = { sub, jti: newJti(), iat, exp: iat + ttlS, iat_ms: nowMs, iss: ISSUER, aud: AUDIENCE, typ: 'access' };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const data = `${HEADER}.${payload}`;
  return { token: `${data}.${sign(secret, data).toString('base64url')}`, claims };
}

/** Verifies signature and claims; throws TokenError saying what is wrong (for logs, not for clients). */
export function verifyAccessToken(secret: Buffer, token: string, nowMs = Date.now()): AccessClaims {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new TokenError('token too long');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) throw new TokenError('malformed token');
  const [header, payload, signature] = parts;
  // Our header is a constant: anything else (another alg, extra members) is refused outright.
  if (header !== HEADER) throw new TokenError('unexpected token header');
  const expected = sign(secret, `${header}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError('bad signature');
  let claims: Partial<AccessClaims>;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<AccessClaims>;
  } catch {
    throw new TokenError('payload is not JSON');
  }
  if (claims === null || typeof claims !== 'object') throw new TokenError('payload is not an object');
  if (claims.iss !== ISSUER || claims.aud !== AUDIENCE || claims.typ !== 'access') throw new TokenError('wrong issuer, audience or type');
  if (typeof claims.sub !== 'string' || typeof claims.jti !== 'string' || claims.jti.length < 8 || claims.jti.length > 64) throw new TokenError('missing subject or token id');
  if (typeof claims.exp !== 'number' || typeof claims.iat !== 'number' || typeof claims.iat_ms !== 'number') throw new TokenError('missing times');
  if (claims.exp * 1000 <= nowMs) throw new TokenError('expired');
  if (claims.iat_ms > nowMs + 60_000) throw new TokenError('issued in the future');
  return claims as AccessClaims;
}
