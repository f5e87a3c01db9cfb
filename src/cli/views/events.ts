// `decnet events [--follow]`: the stored events, newest last, filtered by decky, service, event or
// attacker. With --follow it keeps printing new events as the ingester stores them: the ingester's
// `system.log` notice on the bus says when to look, the database says what is new (a poll covers a
// missing bus).
import { isIP } from 'node:net';
import type { ParsedArgs } from '../args.ts';
import { UsageError } from '../../core/errors.ts';
import { openDatabase } from '../../db/connection.ts';
import { listLogs, logsAfterId, maxLogId, type LogRow } from '../../db/logs/repo.ts';
import type { Db } from '../../db/types.ts';
import { colour } from '../table.ts';
import { limitOption } from './attackers.ts';
import { safeText, shortTime } from './safe-text.ts';

const FILTER_VALUE = /^[A-Za-z0-9_.:@-]{1,128}$/;
const POLL_MS = 2000;

export interface EventFilter {
  decky?: string;
  service?: string;
  event?: string;
  attacker?: string;
}

function filterOf(args: ParsedArgs): EventFilter {
  const f: EventFilter = {};
  for (const key of ['decky', 'service', 'event', 'attacker'] as const) {
    const v = args.options[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !FILTER_VALUE.test(v)) throw new UsageError(`--${key} must be a name (letters, digits, . _ : @ -); got ${JSON.stringify(v)}`);
    if (key === 'attacker' && !isIP(v)) throw new UsageError(`--attacker must be an IP address; got ${JSON.stringify(v)}`);
    f[key] = v;
  }
  return f;
}

function searchOf(f: EventFilter): string {
  const terms: string[] = [];
  if (f.decky) terms.push(`decky:"${f.decky}"`);
  if (f.service) terms.push(`service:"${f.service}"`);
  if (f.event) terms.push(`event:"${f.event}"`);
  if (f.attacker) terms.push(`attacker:"${f.attacker}"`);
  return terms.join(' ');
}

export function matches(row: LogRow, f: EventFilter): boolean {
  return (!f.decky || row.decky === f.decky) && (!f.service || row.service === f.service) && (!f.event || row.event_type === f.event) && (!f.attacker || row.attacker_ip === f.attacker);
}

const HIDDEN_FIELDS = new Set(['headers', 'hassh_algorithms', 'ja3_str', 'ja4_r', 'head_hex']);

function details(row: LogRow): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(row.fields)) {
    if (HIDDEN_FIELDS.has(k)) continue;
    parts.push(`${k}=${safeText(v, 48)}`);
  }
  if (row.raw_line.includes(' secret_b64="')) parts.push('secret=…');
  if (row.msg) parts.push(safeText(row.msg, 60));
  return parts.join(' ');
}

const pad = (s: string, n: number) => (s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length));

/** One event as a fixed-width line (rows arrive one by one when following, so widths are fixed). */
export function formatRow(row: LogRow, width = process.stdout.columns || 160): string {
  const head = `${shortTime(row.ts)}  ${pad(safeText(row.decky, 18), 18)}  ${pad(safeText(row.service, 10), 10)}  ${pad(safeText(row.event_type, 14), 14)}  ${pad(row.attacker_ip ?? '-', 15)}  `;
  return head + safeText(details(row), Math.max(20, width - head.length));
}

function header(): string {
  return colour.bold(`${pad('TIME', 19)}  ${pad('DECKY', 18)}  ${pad('SERVICE', 10)}  ${pad('EVENT', 14)}  ${pad('ATTACKER', 15)}  DETAILS`);
}

function print(rows: LogRow[], json: boolean): void {
  let out = '';
  for (const r of rows) out += (json ? JSON.stringify(r) : formatRow(r)) + '\n';
  if (out) process.stdout.write(out);
}

async function follow(db: Db, filter: EventFilter, json: boolean, startAfter: number): Promise<void> {
  const { openMemberBus } = await import('../../bus/connect.ts');
  const { topics } = await import('../../bus/topics.ts');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let bus: Awaited<ReturnType<typeof openMemberBus>> | undefined;
  let wake: (() => void) | undefined;
  try {
    bus = await openMemberBus(`cli-events-${process.pid}`);
    const sub = bus.subscribe(topics.systemLog, { queueSize: 8, signal: stop.signal });
    void (async () => {
      for await (const _ of sub) wake?.();
    })();
  } catch (err) {
    process.stderr.write(`bus not reachable (${(err as Error).message}); polling every ${POLL_MS / 1000} s\n`);
  }
  let cursor = startAfter;
  try {
    while (!stop.signal.aborted) {
      for (;;) {
        const rows = await logsAfterId(db, cursor, 1000);
        if (rows.length === 0) break;
        cursor = rows[rows.length - 1].id;
        print(rows.filter((r) => matches(r, filter)), json);
        if (rows.length < 1000) break;
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          stop.signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, POLL_MS);
        wake = done;
        stop.signal.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await bus?.close();
  }
}

export default async function events(args: ParsedArgs): Promise<number> {
  const filter = filterOf(args);
  const limit = limitOption(args, 20);
  const json = args.options.json === true;
  const db = await openDatabase();
  try {
    // The last events first, oldest at the top; the cursor is taken before, so nothing falls between.
    const top = await maxLogId(db);
    const page = await listLogs(db, { search: searchOf(filter) || null, limit });
    const recent = page.data.filter((r) => r.id <= top).reverse();
    if (!json) {
      process.stdout.write(header() + '\n');
      if (recent.length === 0 && !args.options.follow) process.stdout.write(colour.dim('(no matching events)') + '\n');
    }
    print(recent, json);
    if (args.options.follow) await follow(db, filter, json, top);
    return 0;
  } finally {
    await db.close();
  }
}
