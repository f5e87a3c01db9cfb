// Derives `attacker.session.ended` from the event stream: a connection (decky, service, source IP
// and port) that ran commands ends with its `disconnect` event, which carries the duration.
// Connections without commands (scans, failed logins) are never tracked. Only newly stored events
// are fed in, so a re-read never announces a session twice. Memory is bounded: at most
// `maxSessions` open connections and `maxBytes` of command text in all (the least recently active
// session is forgotten first), `maxCommands` commands each; idle ones expire.
import { hash } from 'node:crypto';
import type { EventRecord } from './rfc5424.ts';

export interface SessionCommand {
  id: string;
  command_text: string;
  ts: string;
  decky: string;
  service: string;
  user?: string;
  cwd?: string;
}

export interface SessionEnded {
  session_id: string;
  attacker_uuid: null;
  attacker_ip: string;
  decky_id: string;
  service: string;
  started_at: string | null;
  ended_at: string;
  duration_s: number | null;
  commands: SessionCommand[];
  /** Commands beyond the per-session cap (counted, not listed). */
  commands_dropped: number;
  bytes_in: number | null;
  bytes_out: number | null;
  close_reason: string | null;
}

interface Open {
  lastSeen: number;
  commands: SessionCommand[];
  dropped: number;
  /** Characters of command text held. */
  chars: number;
}

export interface SessionTrackerOptions {
  maxSessions?: number;
  maxCommands?: number;
  /** Command text held across all open sessions (UTF-16 units, roughly bytes). */
  maxBytes?: number;
  idleMs?: number;
}

const COMMAND_EVENTS = new Set(['command', 'exec', 'shell_input']);
const MAX_COMMAND_CHARS = 2048;

export class SessionTracker {
  private readonly open = new Map<string, Open>();
  private readonly maxSessions: number;
  private readonly maxCommands: number;
  private readonly maxChars: number;
  private readonly idleMs: number;
  private chars = 0;
  evicted = 0;

  constructor(opts: SessionTrackerOptions = {}) {
    this.maxSessions = opts.maxSessions ?? 2000;
    this.maxCommands = opts.maxCommands ?? 200;
    this.maxChars = opts.maxBytes ?? 2 * 1024 * 1024;
    this.idleMs = opts.idleMs ?? 3_600_000;
  }

  /** Command text held now. */
  get heldChars(): number {
    return this.chars;
  }

  get size(): number {
    return this.open.size;
  }

  /** Feeds one newly stored event; returns the session it ended, if it ended one that ran commands. */
  feed(rec: EventRecord, now = Date.now()): SessionEnded | null {
    const isCommand = COMMAND_EVENTS.has(rec.event);
    if (!isCommand && rec.event !== 'disconnect') return null;
    const key = `${rec.decky}|${rec.service}|${rec.src_ip}|${rec.src_port}`;
    if (isCommand) {
      const text = rec.fields.command ?? rec.fields.cmd ?? rec.fields.input;
      if (text === undefined) return null;
      let s = this.open.get(key);
      if (!s) {
        s = { lastSeen: now, commands: [], dropped: 0, chars: 0 };
      }
      this.touch(key, s);
      s.lastSeen = now;
      if (s.commands.length >= this.maxCommands) s.dropped++;
      else {
        const c: SessionCommand = { id: '', command_text: text.slice(0, MAX_COMMAND_CHARS), ts: rec.ts, decky: rec.decky, service: rec.service };
        if (rec.fields.user) c.user = rec.fields.user.slice(0, 64);
        if (rec.fields.cwd) c.cwd = rec.fields.cwd.slice(0, 256);
        s.commands.push(c);
        const size = c.command_text.length + (c.cwd?.length ?? 0) + 64;
        s.chars += size;
        this.chars += size;
        this.evict(key);
      }
      return null;
    }
    const s = this.open.get(key);
    if (s) this.forget(key, s);
    if (!s || s.commands.length + s.dropped === 0) return null;
    const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
    const durationMs = num(rec.fields.duration_ms);
    const endedMs = Date.parse(rec.ts);
    const started = durationMs !== null && Number.isFinite(endedMs) ? new Date(endedMs - durationMs).toISOString() : (s.commands[0]?.ts ?? null);
    const sessionId = hash('sha256', `${key}|${started ?? ''}|${rec.ts}`, 'hex').slice(0, 32);
    s.commands.forEach((c, i) => (c.id = `${sessionId}#${i}`));
    return {
      session_id: sessionId,
      attacker_uuid: null,
      attacker_ip: rec.src_ip,
      decky_id: rec.decky,
      service: rec.service,
      started_at: started,
      ended_at: rec.ts,
      duration_s: durationMs !== null ? durationMs / 1000 : started ? Math.max(0, (endedMs - Date.parse(started)) / 1000) : null,
      commands: s.commands,
      commands_dropped: s.dropped,
      bytes_in: num(rec.fields.bytes_in),
      bytes_out: num(rec.fields.bytes_out),
      close_reason: rec.fields.reason ?? null,
    };
  }

  /** Marks a session most recently active (the Map's order is the eviction order). */
  private touch(key: string, s: Open): void {
    this.open.delete(key);
    this.open.set(key, s);
  }

  private forget(key: string, s: Open): void {
    this.open.delete(key);
    this.chars -= s.chars;
  }

  /** Forgets the least recently active sessions (never `keep`) until both limits hold. */
  private evict(keep: string): void {
    for (const [key, s] of this.open) {
      if (this.open.size <= this.maxSessions && this.chars <= this.maxChars) return;
      if (key === keep) continue;
      this.forget(key, s);
      this.evicted++;
    }
  }

  /** Forgets connections idle for longer than the limit (their disconnect never came). */
  expire(now = Date.now()): void {
    for (const [key, s] of this.open) if (now - s.lastSeen > this.idleMs) this.forget(key, s);
  }
}
