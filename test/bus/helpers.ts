// Shared bits of the bus tests: temp socket dirs, polling with a deadline, captured log lines.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureLogging } from '../../src/core/log.ts';
import type { Envelope, Subscription } from '../../src/bus/types.ts';

export function tempSocketDir(): { dir: string; path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-bus-'));
  return { dir, path: join(dir, 'bus.sock'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls `cond` until it is true; fails with `what` after `ms`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The next event, or a failure after `ms`. */
export async function nextWithin(sub: Subscription, ms = 3000): Promise<Envelope> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event on ${sub.pattern} within ${ms} ms`)), ms);
  });
  try {
    const ev = await Promise.race([sub.next(), timeout]);
    if (ev === undefined) throw new Error(`subscription ${sub.pattern} ended`);
    return ev;
  } finally {
    clearTimeout(timer);
  }
}

/** Collects log lines (instead of printing them) for assertions. */
export function captureLogs(): string[] {
  const lines: string[] = [];
  configureLogging({ level: 'info', json: false, sink: (line) => void lines.push(line) });
  return lines;
}
