// Who is calling: a bearer token is verified, then checked against the user's current row (deleted
// users, role changes, bulk revocation through tokens_valid_from) and the deny-list of logged-out
// tokens. Both look-ups are cached for a few seconds per process; this process's own writes
// invalidate its caches at once, other processes' writes are seen within CACHE_TTL_MS.
import type { Db } from '../../db/types.ts';
import type { UserRow } from '../../db/auth/repo.ts';
import { issueAccessToken, verifyAccessToken, TokenError, type AccessClaims } from './jwt.ts';
import { HttpError, unauthorized } from '../http/errors.ts';

export type Role = 'viewer' | 'admin';

export interface Principal {
  uuid: string;
  username: string;
  role: Role;
  mustChangePassword: boolean;
  jti: string;
  /** Token expiry, epoch seconds. */
  exp: number;
}

const CACHE_TTL_MS = 5_000;
const MAX_CACHED_USERS = 2_000;
const MAX_CACHED_JTIS = 20_000;

interface Cached<T> {
  value: T;
  at: number;
}

function remember<K, T>(map: Map<K, Cached<T>>, key: K, value: T, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, { value, at: Date.now() });
}

const INVALID = 'could not validate credentials; log in again';

export class AuthService {
  readonly ttlS: number;
  private readonly secret: Buffer;
  private readonly db: () => Promise<Db>;
  private readonly users = new Map<string, Cached<UserRow | undefined>>();
  private readonly revoked = new Map<string, Cached<boolean>>();
  /** Tokens whose signature and claims were already verified (until they expire): skips the HMAC. */
  private readonly verified = new Map<string, AccessClaims>();

  constructor(opts: { secret: Buffer; ttlS: number; db: () => Promise<Db> }) {
    this.secret = opts.secret;
    this.ttlS = opts.ttlS;
    this.db = opts.db;
  }

  issue(user: UserRow): { token: string; claims: AccessClaims } {
    return issueAccessToken(this.secret, user.uuid, this.ttlS);
  }

  /** The principal of an `Authorization` header; 401 for anything but a valid, live token. */
  async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) throw unauthorized();
    const match = /^Bearer ([^\s]+)$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <access token>"');
    const token = match[1];
    let claims = this.verified.get(token);
    if (claims && claims.exp * 1000 <= Date.now()) {
      this.verified.delete(token);
      claims = undefined;
    }
    if (!claims) {
      try {
        claims = verifyAccessToken(this.secret, token);
      } catch (err) {
        if (err instanceof TokenError && err.message === 'expired') throw unauthorized('the access token has expired; log in again');
        throw unauthorized(INVALID);
      }
      if (this.verified.size >= MAX_CACHED_JTIS) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, claims);
    }
    const user = await this.user(claims.sub);
    if (!user) throw unauthorized(INVALID);
    if (user.tokens_valid_from && claims.iat_ms < Date.parse(user.tokens_valid_from)) throw unauthorized('this session was ended (password or role changed); log in again');
    if (await this.isRevoked(claims.jti)) throw unauthorized('this session was logged out; log in again');
    return this.principalOf(user, claims.jti, claims.exp);
  }

  principalOf(user: UserRow, jti: string, exp: number): Principal {
    return { uuid: user.uuid, username: user.username, role: user.role, mustChangePassword: user.must_change_password, jti, exp };
  }

  /** The current row of a user (cached briefly); undefined once deleted. */
  async user(uuid: string): Promise<UserRow | undefined> {
    const hit = this.users.get(uuid);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.value;
    const { getUserByUuid } = await import('../../db/auth/repo.ts');
    let row: UserRow | undefined;
    try {
      row = await getUserByUuid(await this.db(), uuid);
    } catch (err) {
      if ((err as Error).name === 'DataError') row = undefined; // a subject that is not a uuid
      else throw err;
    }
    remember(this.users, uuid, row, MAX_CACHED_USERS);
    return row;
  }

  private async isRevoked(jti: string): Promise<boolean> {
    const hit = this.revoked.get(jti);
    if (hit && (hit.value || Date.now() - hit.at < CACHE_TTL_MS)) return hit.value;
    const { isTokenRevoked } = await import('../../db/auth/repo.ts');
    const value = await isTokenRevoked(await this.db(), jti);
    remember(this.revoked, jti, value, MAX_CACHED_JTIS);
    return value;
  }

  /** Ends one session: its token id goes on the deny-list until the token would have expired. */
  async revoke(p: Principal): Promise<void> {
    const { revokeToken } = await import('../../db/auth/repo.ts');
    await revokeToken(await this.db(), p.jti, p.uuid, p.exp * 1000);
    remember(this.revoked, p.jti, true, MAX_CACHED_JTIS);
  }

  /** Call after any write to a user row. */
  forgetUser(uuid: string): void {
    this.users.delete(uuid);
  }
}

/** 403 unless the principal may use a route of this level. */
export function authorize(p: Principal, level: 'self' | 'viewer' | 'admin'): void {
  if (level === 'self') return;
  if (p.mustChangePassword) {
    throw new HttpError(403, 'password change required: set a new password with POST /api/v1/auth/change-password, then log in again');
  }
  if (level === 'admin' && p.role !== 'admin') throw new HttpError(403, 'this needs the admin role');
}
