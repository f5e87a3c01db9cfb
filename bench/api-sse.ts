// Live stream delivery: 200 open SSE streams on the built `decnet api` (with the built `decnet bus`
// as broker), 100 events/s for 20 s, in two kinds:
//   - bus events (attacker.scored published by this process), fanned out by the API as they come;
//   - log rows: written to the database 10 at a time every 100 ms and announced on system.log, as
//     the ingester does; the API reads them by id and fans them out.
// Delivery lag = arrival at the client − the moment the event was published (bus) or the moment
// its database write began (logs: the write itself is part of the lag). Also reports the API's PSS idle, with 200 idle streams, and under load.
//
//   node bench/api-sse.ts [--streams N] [--rate EVENTS_PER_S] [--seconds S]
import { request, type IncomingMessage } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { BIN, NODE_FLAGS, ensureBuilt, mb, sandbox, spawnNode, steadyMemory, stop, table, waitFor } from './lib/measure.ts';
import { startApiProcess } from './lib/api-process.ts';
import { percentile } from './lib/http-load.ts';
import { readMemory } from '../src/fleet/memory.ts';
import { existsSync } from 'node:fs';

const { values } = parseArgs({ options: { streams: { type: 'string', default: '200' }, rate: { type: 'string', default: '100' }, seconds: { type: 'string', default: '20' } } });
const STREAMS = Number(values.streams);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);

const now = () => performance.timeOrigin + performance.now();

interface Stream {
  res: IncomingMessage | undefined;
  received: Map<string, number[]>;
  dropped: number;
  buffer: string;
}

function openStream(url: string, type: string, onEvent: (s: Stream, event: string, data: string) => void): Promise<Stream> {
  const s: Stream = { res: undefined, received: new Map(), dropped: 0, buffer: '' };
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream ${type}: HTTP ${res.statusCode}`));
        return;
      }
      s.res = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        s.buffer += chunk;
        let end: number;
        while ((end = s.buffer.indexOf('\n\n')) !== -1) {
          const block = s.buffer.slice(0, end);
          s.buffer = s.buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (event === 'dropped') s.dropped++;
          else onEvent(s, event, data);
        }
      });
      resolve(s);
    });
    req.on('error', reject);
    req.end();
  });
}

async function ticket(url: string, token: string): Promise<string> {
  const r = await fetch(`${url}api/v1/stream/ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  return ((await r.json()) as { ticket: string }).ticket;
}

interface Phase {
  name: string;
  expected: number;
  lags: number[];
  delivered: number;
  dropped: number;
  pss: number;
}

ensureBuilt();
const box = sandbox();
const env: NodeJS.ProcessEnv = { ...box.env, DECNET_SSE_MAX_PER_USER: String(STREAMS), DECNET_HEALTH_INTERVAL_MS: '2000' };
const bus = spawnNode([...NODE_FLAGS, BIN, 'bus'], env);
const phases: Phase[] = [];
let idlePss = 0;
let streamsPss = 0;
try {
  await waitFor(() => existsSync(box.socket), 20_000, 'the bus socket');
  const api = await startApiProcess(env);
  try {
    const pid = api.child.pid!;
    idlePss = (await steadyMemory([pid]))[0].pss;
    const { openMemberBus } = await import('../src/bus/connect.ts');
    const publisher = await openMemberBus('bench-sse', `unix:${box.socket}`);
    const { openDatabase } = await import('../src/db/connection.ts');
    const db = await openDatabase(env.DECNET_DB_URL);
    const { appendLogs } = await import('../src/db/logs/repo.ts');

    for (const kind of ['attacker', 'log'] as const) {
      const lags: number[] = [];
      let delivered = 0;
      const onEvent = (_s: Stream, event: string, data: string) => {
        if (event !== kind) return;
        const t = now();
        const sentAt = kind === 'attacker' ? (JSON.parse(data) as { payload: { sent_at: number } }).payload.sent_at : Number((JSON.parse(data) as { fields: { sent_at: string } }).fields.sent_at);
        lags.push(t - sentAt);
        delivered++;
      };
      const streams: Stream[] = [];
      for (let i = 0; i < STREAMS; i++) streams.push(await openStream(`${api.url}api/v1/stream?types=${kind}&ticket=${await ticket(api.url, api.token)}`, kind, onEvent));
      if (kind === 'attacker') streamsPss = (await steadyMemory([pid]))[0].pss;
      const total = RATE * SECONDS;
      let sent = 0;
      const started = now();
      let pssUnderLoad = 0;
      // 10 ticks a second; each publishes the events due by then (a tenth of the rate)
      while (sent < total) {
        const due = Math.min(total, Math.floor(((now() - started) / 1000) * RATE) + RATE / 10);
        const batch = due - sent;
        if (batch > 0) {
          if (kind === 'attacker') {
            for (let i = 0; i < batch; i++) publisher.publish('attacker.scored', { attacker_ip: '192.0.2.1', seq: sent + i, event_count: sent + i, sent_at: now() }, 'scored');
          } else {
            const at = now();
            await appendLogs(
              db,
              Array.from({ length: batch }, (_, i) => ({
                ts: new Date(at).toISOString(),
                decky: 'web-01',
                service: 'ssh',
                event_type: 'auth_attempt',
                attacker_ip: '192.0.2.1',
                fields: { sent_at: String(at), seq: sent + i },
                raw_line: `<134>1 ${new Date(at).toISOString()} web-01 ssh - auth_attempt [x] bench ${sent + i}`,
              })),
            );
            publisher.publish('system.log', { component: 'ingester', flushed: batch }, 'batch_committed');
          }
          sent += batch;
        }
        if (sent >= total / 2 && pssUnderLoad === 0) pssUnderLoad = readMemory(pid)?.pss ?? 0;
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitFor(() => delivered >= total * STREAMS, 30_000, `all ${kind} events`).catch(() => undefined);
      phases.push({ name: kind === 'attacker' ? 'bus events (attacker.scored)' : 'log rows (database, system.log notice)', expected: total * STREAMS, lags, delivered, dropped: streams.reduce((n, s) => n + s.dropped, 0), pss: pssUnderLoad });
      for (const s of streams) s.res?.destroy();
    }
    await publisher.close();
    await db.close();
  } finally {
    await api.stop();
  }
} finally {
  await stop(bus);
  box.cleanup();
}

process.stdout.write(`\n${STREAMS} SSE streams, ${RATE} events/s for ${SECONDS} s per phase; ${cpus().length} CPUs, load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}; clients and publisher in one process beside the API\n\n`);
process.stdout.write(
  table(
    ['events', 'delivered', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'dropped notices', 'API PSS under load MB'],
    phases.map((p) => {
      const sorted = [...p.lags].sort((a, b) => a - b);
      return [p.name, `${p.delivered}/${p.expected}`, percentile(sorted, 50).toFixed(1), percentile(sorted, 99).toFixed(1), (sorted[sorted.length - 1] ?? 0).toFixed(1), p.dropped, mb(p.pss)];
    }),
  ),
);
process.stdout.write(`\nAPI PSS: idle ${mb(idlePss)} MB, with ${STREAMS} idle streams ${mb(streamsPss)} MB\n`);
