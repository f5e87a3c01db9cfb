// Stream tickets: a browser's EventSource cannot send an Authorization header, and a long-lived
// token in a URL ends up in logs and history. So an authenticated client trades its token for a
// random ticket that is valid for a few seconds and works exactly once.
import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.ts';

interface Entry {
  userUuid: string;
  expiresAt: number;
}

export class TicketStore {
  readonly ttlMs: number;
  private readonly tickets = new Map<string, Entry>();
  private readonly maxPerUser: number;
  private readonly maxTotal: number;

  constructor(opts: { ttlMs?: number; maxPerUser?: number; maxTotal?: number } = {}) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.maxPerUser = opts.maxPerUser ?? 10;
    this.maxTotal = opts.maxTotal ?? 10_000;
  }

  get size(): number {
    return this.tickets.size;
  }

  /** A new ticket for this user; the user's oldest unused ticket is dropped past maxPerUser. */
  mint(p: Principal, now = Date.now()): { ticket: string; expires_in: number } {
    this.sweep(now);
    const mine = [...this.tickets].filter(([, e]) => e.userUuid === p.uuid);
    for (const [ticket] of mine.slice(0, Math.max(0, mine.length - this.maxPerUser + 1))) this.tickets.delete(ticket);
    while (this.tickets.size >= this.maxTotal) {
      const oldest = this.tickets.keys().next().value;
      if (oldest === undefined) break;
      this.tickets.delete(oldest);
    }
    const ticket = randomBytes(32).toString('base64url');
    this.tickets.set(ticket, { userUuid: p.uuid, expiresAt: now + this.ttlMs });
    return { ticket, expires_in: Math.round(this.ttlMs / 1000) };
  }

  /** The user a ticket was minted for, once: a ticket is gone after this call, valid or not. */
  redeem(ticket: string, now = Date.now()): string | undefined {
    const entry = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    this.sweep(now);
    if (!entry || entry.expiresAt <= now) return undefined;
    return entry.userUuid;
  }

  private sweep(now: number): void {
    for (const [ticket, e] of this.tickets) if (e.expiresAt <= now) this.tickets.delete(ticket);
  }
}
