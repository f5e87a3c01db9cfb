// A worker that only heartbeats: the unit of measure for what hosting a worker costs.
import { defineWorker } from './worker.ts';

export default defineWorker({
  name: 'idle',
  summary: 'heartbeats only',
  async run(ctx) {
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  },
});
