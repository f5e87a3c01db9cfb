// A closed-loop HTTP load generator: N clients, each with its own keep-alive connection, each
// sending its next request as soon as the previous answer is read. Latency per request is measured
// from send to the last byte of the answer. The clients speak HTTP/1.1 over raw sockets (a
// prepared request, answers framed by Content-Length): the generator shares the machine with the
// server, and node's HTTP client would cost it several times more CPU per request.
import { connect } from 'node:net';

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<number, number>;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function runLoad(opts: {
  url: string;
  /** The path (with query) of each request; called per request. */
  path: () => string;
  headers: Record<string, string>;
  clients: number;
  warmupMs: number;
  durationMs: number;
}): Promise<LoadResult> {
  const base = new URL(opts.url);
  const port = Number(base.port);
  const extra = Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const requests = new Map<string, Buffer>();
  const requestFor = (path: string): Buffer => {
    let r = requests.get(path);
    if (!r) {
      r = Buffer.from(`GET ${path} HTTP/1.1\r\nhost: ${base.host}\r\n${extra}\r\n`);
      if (requests.size < 10_000) requests.set(path, r);
    }
    return r;
  };
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let errors = 0;
  let measuring = false;
  let stop = false;
  const client = () =>
    new Promise<void>((resolve) => {
      const sock = connect({ host: base.hostname, port, noDelay: true });
      let started = 0;
      let pending: Buffer = Buffer.alloc(0);
      let bodyLeft = -1;
      let status = 0;
      const send = () => {
        if (stop) {
          sock.end();
          return;
        }
        started = performance.now();
        sock.write(requestFor(opts.path()));
      };
      const done = () => {
        if (measuring) {
          latencies.push(performance.now() - started);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
        bodyLeft = -1;
        send();
      };
      sock.on('connect', send);
      sock.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        for (;;) {
          if (bodyLeft < 0) {
            const end = pending.indexOf('\r\n\r\n');
            if (end === -1) return;
            const head = pending.subarray(0, end).toString('latin1');
            status = Number(head.slice(9, 12));
            const m = /\r\ncontent-length: *(\d+)/i.exec(head);
            bodyLeft = m ? Number(m[1]) : 0;
            pending = pending.subarray(end + 4);
          }
          if (pending.length < bodyLeft) return;
          pending = pending.subarray(bodyLeft);
          done();
          if (pending.length === 0) return;
        }
      });
      sock.on('error', () => {
        if (measuring) errors++;
      });
      sock.on('close', () => resolve());
    });
  const running = Array.from({ length: opts.clients }, client);
  await new Promise((r) => setTimeout(r, opts.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, opts.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(running);
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    statuses,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p90: percentile(latencies, 90),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
  };
}
