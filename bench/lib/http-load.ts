// A closed-loop HTTP load generator: N clients, each with its own keep-alive connection, each
// sending its next request as soon as the previous answer is read. Latency per request is measured
// from send to the last byte of the answer.
import { Agent, request } from 'node:http';

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
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients, maxFreeSockets: opts.clients });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let errors = 0;
  let measuring = false;
  let stop = false;
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request({ host: base.hostname, port: base.port, path: opts.path(), agent, headers: opts.headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          if (measuring) {
            latencies.push(performance.now() - started);
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
          }
          resolve();
        });
        res.on('error', () => {
          if (measuring) errors++;
          resolve();
        });
      });
      req.on('error', () => {
        if (measuring) errors++;
        resolve();
      });
      req.end();
    });
  const client = async () => {
    while (!stop) await one();
  };
  const running = Array.from({ length: opts.clients }, client);
  await new Promise((r) => setTimeout(r, opts.warmupMs));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, opts.durationMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  await Promise.all(running);
  agent.destroy();
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
