// The `bus` worker: runs the broker on the UNIX socket; its heartbeat (system.bus.health, every
// --heartbeat seconds) carries the broker's counters. The broker serves this process's router, so the host's `local:` connection
// (which hosts containing this worker use) reaches socket clients without a socket of its own.
import { defineWorker } from '../fleet/worker.ts';
import { busSocketPath } from '../core/paths.ts';
import { ConfigError } from '../core/errors.ts';

function configString(config: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const v = config[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ConfigError(`bus: option ${key} must be a string, got ${typeof v}`);
  return v;
}

function heartbeatSeconds(config: Readonly<Record<string, unknown>>): number {
  const raw = config.heartbeat ?? 10;
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0.05 || n > 3600) {
    throw new ConfigError(`bus: --heartbeat must be a number of seconds from 0.05 to 3600, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export default defineWorker({
  name: 'bus',
  summary: 'the service bus broker on a UNIX socket',
  async run(ctx) {
    const path = configString(ctx.config, 'socket') ?? busSocketPath();
    const group = configString(ctx.config, 'group') ?? 'decnet';
    const intervalMs = heartbeatSeconds(ctx.config) * 1000;
    const { startBroker } = await import('./broker.ts');
    const { processRouter } = await import('./router.ts');
    const router = processRouter();
    const broker = await startBroker({ path, group, router, log: ctx.log });
    // The host publishes system.bus.health (with the generic fields) at this worker's own interval.
    ctx.setHeartbeatInterval(intervalMs);
    ctx.health(() => {
      const s = broker.stats();
      return { connections: s.connections, published: s.published, delivered: s.delivered, drops: s.drops, protocol_errors: s.protocol_errors, socket: path };
    });
    try {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    } finally {
      await broker.close();
    }
  },
});
