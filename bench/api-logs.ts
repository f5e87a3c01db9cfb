// GET /api/v1/logs under load: 500 concurrent keep-alive clients against the built `decnet api`
// on a SQLite database of 1,000,000 events. Reports request rate and latency percentiles for the
// default page (what every dashboard polls), a mix of pages and filters, and the default page
// with the one-second answer cache turned off; plus the API's PSS and event-loop delay.
//
//   node bench/api-logs.ts [--events N] [--clients N] [--seconds S]
// The event database is built once and kept in $TMPDIR (DECNET_BENCH_LOGS_DB overrides the path).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt, mb, sandbox, table } from './lib/measure.ts';
import { startApiProcess } from './lib/api-process.ts';
import { runLoad, type LoadResult } from './lib/http-load.ts';
import { eventDatabase } from './lib/log-fixture.ts';
import { readMemory } from '../src/fleet/memory.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '15' },
    semi: { type: 'string', default: '1', description: 'V8 semi-space MB of the api process (the fleet default is 1)' },
    only: { type: 'string' },
  },
});
const SEMI = Number(values.semi);
const EVENTS = Number(values.events);
const CLIENTS = Number(values.clients);
const SECONDS = Number(values.seconds);

function hostState(runDir: string): { el_delay_p99_ms?: number } {
  try {
    return JSON.parse(readFileSync(join(runDir, 'hosts', 'api.json'), 'utf8')) as { el_delay_p99_ms?: number };
  } catch {
    return {};
  }
}

const SEARCHES = ['', 'service:ssh', 'attacker:203.0.0.5', 'decky:decky-07', 'event:command', 'username:root', 'wget'];

function mixedPath(): string {
  const r = Math.random();
  if (r < 0.5) return `/api/v1/logs?limit=50&offset=${50 * Math.floor(Math.random() * 100)}`;
  const search = SEARCHES[Math.floor(Math.random() * SEARCHES.length)];
  return `/api/v1/logs?limit=50${search ? `&search=${encodeURIComponent(search)}` : ''}`;
}

async function scenario(name: string, dbPath: string, path: () => string, extraEnv: Record<string, string>): Promise<(string | number)[]> {
  const box = sandbox();
  try {
    const env: NodeJS.ProcessEnv = { ...box.env, DECNET_DB_URL: `sqlite:${dbPath}`, DECNET_BUS_URL: 'local:', DECNET_HEALTH_INTERVAL_MS: '1000', ...extraEnv };
    const api = await startApiProcess(env, { flags: [`--max-semi-space-size=${SEMI}`, '--max-old-space-size=144'] });
    try {
      // one request first, so that cold caches are not part of the measurement
      await fetch(api.url + 'api/v1/logs?limit=50', { headers: { authorization: `Bearer ${api.token}` } });
      const r: LoadResult = await runLoad({ url: api.url, path, headers: { authorization: `Bearer ${api.token}` }, clients: CLIENTS, warmupMs: 3000, durationMs: SECONDS * 1000 });
      const pss = readMemory(api.child.pid!)?.pss ?? 0;
      const ok = r.statuses[200] ?? 0;
      return [name, Math.round(r.rps), r.p50.toFixed(1), r.p90.toFixed(1), r.p99.toFixed(1), r.max.toFixed(0), `${r.errors + (r.requests - ok)}`, mb(pss), (hostState(env.DECNET_RUN_DIR!).el_delay_p99_ms ?? 0).toFixed(1)];
    } finally {
      await api.stop();
    }
  } finally {
    box.cleanup();
  }
}

ensureBuilt();
const dbPath = await eventDatabase(EVENTS);
const SCENARIOS: [string, () => string, Record<string, string>][] = [
  ['default page (limit=50)', () => '/api/v1/logs?limit=50', {}],
  ['mixed pages and filters', mixedPath, {}],
  ['default page, answer cache off', () => '/api/v1/logs?limit=50', { DECNET_API_LIST_CACHE_MS: '0' }],
];
const rows = [];
for (const [name, path, extra] of SCENARIOS) if (!values.only || name.startsWith(values.only)) rows.push(await scenario(name, dbPath, path, extra));
process.stdout.write(`\nGET /api/v1/logs, ${EVENTS.toLocaleString('en')} events (SQLite), ${CLIENTS} concurrent clients, ${SECONDS} s after 3 s warm-up; api process: --max-semi-space-size=${SEMI}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load generator on the same machine; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n\n`);
process.stdout.write(table(['scenario', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'API PSS MB', 'API loop p99 ms'], rows));
