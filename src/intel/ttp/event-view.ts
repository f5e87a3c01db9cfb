// One event as the rules look at it: the parsed command line, the decoded URL, the auth outcome,
// the texts to search. Each view is computed at most once per event and only if a rule asks.
import type { TtpEvent } from './types.ts';
import { parseCommandLine, MAX_COMMAND_CHARS, type SimpleCommand } from './shell-words.ts';
import { shortHash } from './attacker-state.ts';

export class TtpEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TtpEventError';
  }
}

/** Events that record a login attempt. */
export const AUTH_EVENTS: ReadonlySet<string> = new Set(['auth_attempt', 'auth', 'login']);
/** Field names never copied into evidence or searched as text: they carry secrets or their hashes. */
export const SECRET_FIELD = /^(?!secret_kind$).*(?:secret|passw|pwd|hash|token|proof|nonce|salt|cookie|authorization)|^(?:auth|response|community)$/;

const FINAL_STAGES = new Set(['authenticate', 'final', 'response', 'complete']);
const TRUE = new Set(['true', '1', 'yes', 'success', 'succeeded', 'ok', 'accepted', 'granted']);

function percentDecode(s: string): string {
  return s.includes('%') ? s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : s;
}

export function eventTimeMs(ts: string | number): number {
  const ms = typeof ts === 'number' ? ts : Date.parse(ts);
  // Date's range is ±8.64e15 ms; beyond it no timestamp can be formatted.
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new TtpEventError(`event time ${JSON.stringify(ts)} is not an ISO-8601 time or epoch milliseconds`);
  return ms;
}

/** Checks the shape of an event handed to the engine; throws TtpEventError naming what is wrong. */
export function checkEvent(ev: TtpEvent): void {
  if (!ev || typeof ev !== 'object') throw new TtpEventError('event must be an object');
  for (const k of ['decky', 'service', 'event', 'attacker_ip'] as const) {
    if (typeof ev[k] !== 'string') throw new TtpEventError(`event.${k} must be a string`);
  }
  if (!ev.fields || typeof ev.fields !== 'object') throw new TtpEventError('event.fields must be an object of strings');
  if (ev.command !== undefined && typeof ev.command !== 'string') throw new TtpEventError('event.command must be a string');
}

export class EventView {
  readonly ev: TtpEvent;
  readonly tMs: number;
  private commandsCache: SimpleCommand[] | undefined;
  private urlCache: string | undefined;
  private textsCache: string[] | undefined;
  private dayCache: string | undefined;
  private keys: Map<string, string | undefined> | undefined;

  constructor(ev: TtpEvent) {
    checkEvent(ev);
    this.ev = ev;
    this.tMs = eventTimeMs(ev.ts);
  }

  field(name: string): string | undefined {
    if (!Object.hasOwn(this.ev.fields, name)) return undefined; // never `constructor` and friends from the prototype
    const v = this.ev.fields[name];
    return typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v);
  }

  /** The shell command text (capped). */
  get command(): string {
    const c = this.ev.command ?? this.field('command') ?? '';
    return c.length > MAX_COMMAND_CHARS ? c.slice(0, MAX_COMMAND_CHARS) : c;
  }

  get commands(): SimpleCommand[] {
    if (!this.commandsCache) {
      const c = this.command;
      this.commandsCache = c ? parseCommandLine(c) : [];
    }
    return this.commandsCache;
  }

  /** The request target (path and query), percent-decoded twice to see through double encoding. */
  get url(): string {
    if (this.urlCache === undefined) {
      let u = this.field('path') ?? this.field('url') ?? this.field('uri') ?? '';
      const q = this.field('query');
      if (q && !u.includes('?')) u += '?' + q;
      const qAt = u.indexOf('?');
      if (qAt >= 0) u = u.slice(0, qAt) + u.slice(qAt).replace(/\+/g, ' ');
      this.urlCache = percentDecode(percentDecode(u));
    }
    return this.urlCache;
  }

  /** The command and every non-secret field value: what `any_field_matches` searches. */
  get texts(): string[] {
    if (!this.textsCache) {
      const out: string[] = [];
      const c = this.ev.command;
      if (c) out.push(c);
      for (const [k, v] of Object.entries(this.ev.fields)) {
        if (typeof v === 'string' && v.length > 0 && !SECRET_FIELD.test(k)) out.push(v);
      }
      this.textsCache = out;
    }
    return this.textsCache;
  }

  /** A login to the decoy service (a `sudo` password typed inside an emulated shell is not one). */
  get isAuth(): boolean {
    return AUTH_EVENTS.has(this.ev.event) && this.field('auth_method') !== 'sudo';
  }

  /**
   * A login that presented a credential. Not attempts: the first leg of a handshake (an NTLM
   * NEGOTIATE, `stage` other than the final one), SSH `none` and unsigned public-key offers (every
   * ordinary client offers its keys before typing a password).
   */
  get isAuthAttempt(): boolean {
    if (!this.isAuth) return false;
    const stage = this.field('stage');
    if (stage !== undefined && !FINAL_STAGES.has(stage)) return false;
    const method = this.field('auth_method');
    if (method === 'none') return false;
    if (method === 'publickey' && this.field('signed') !== 'true') return false;
    return true;
  }

  /** Login outcome from `success` or `outcome`; an attempt without either counts as a failure. */
  get authSucceeded(): boolean {
    const s = this.field('success') ?? this.field('outcome');
    return s !== undefined && TRUE.has(s.toLowerCase());
  }

  get username(): string | undefined {
    return this.field('username') ?? this.field('user') ?? this.field('principal') ?? this.field('dn') ?? this.field('login');
  }

  /** The UTC day of the event (counting rules fire once per day). */
  get day(): string {
    return (this.dayCache ??= new Date(this.tMs).toISOString().slice(0, 10));
  }

  /** The start of the next UTC day, in epoch milliseconds. */
  get nextDayMs(): number {
    return (Math.floor(this.tMs / 86_400_000) + 1) * 86_400_000;
  }

  /** Keys counted by `distinct_from_ip`, reduced to short hashes (state never holds attacker text or secrets). */
  derivedKey(name: string): string | undefined {
    this.keys ??= new Map();
    if (this.keys.has(name)) return this.keys.get(name);
    const key = this.computeKey(name);
    this.keys.set(name, key);
    return key;
  }

  private computeKey(name: string): string | undefined {
    let raw: string | undefined;
    switch (name) {
      case 'username':
        raw = this.username;
        break;
      case 'secret':
        raw = this.field('secret_b64');
        break;
      case 'target':
        raw = `${this.ev.decky}:${this.field('dst_port') ?? this.ev.service}`;
        break;
      case 'path': {
        const p = this.field('path') ?? this.field('url') ?? '';
        const q = p.indexOf('?');
        raw = q >= 0 ? p.slice(0, q) : p;
        break;
      }
      case 'decky':
        raw = this.ev.decky;
        break;
      case 'service':
        raw = this.ev.service;
        break;
      default:
        raw = this.field(name);
    }
    return raw === undefined || raw === '' ? undefined : shortHash(raw.length > 1024 ? raw.slice(0, 1024) : raw);
  }

  /** A one-line description of the event for evidence: the command, the request line, or the event and its main value. */
  get summary(): string {
    const c = this.command;
    if (c) {
      // Services that log a verb and its arguments separately (redis, ftp, smtp, pop3).
      const args = this.field('args') ?? this.field('arg');
      return args ? `${c} ${args}` : c;
    }
    const cmd = this.field('cmd');
    if (cmd) {
      const arg = this.field('arg') ?? this.field('args');
      return arg ? `${cmd} ${arg}` : cmd;
    }
    const path = this.field('path');
    if (path !== undefined) {
      const q = this.field('query');
      return `${this.field('method') ?? ''} ${path}${q && !path.includes('?') ? '?' + q : ''}`.trim();
    }
    for (const k of ['url', 'qname', 'topic', 'topics', 'name', 'filename', 'image', 'images', 'dn', 'username', 'function', 'pdu']) {
      const v = this.field(k);
      if (v) return `${this.ev.event} ${k}=${v}`;
    }
    return this.ev.event;
  }
}
