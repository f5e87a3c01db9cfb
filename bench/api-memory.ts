// Memory of the built `decnet api` on the 1,000,000-event database (the one bench/api-logs.ts uses):
// idle, after one list request, and after heavy reads run side by side (a text search, the
// headline counts, the histogram), with the reader threads capped at 0, 1 and 2. Beside it, an
// idle `node` started in the same run. PSS shares the node binary among all node processes on the
// machine, so USS (the process's own pages) is the figure to compare between runs.
//
//   node bench/api-memory.ts
import { NODE_FLAGS, ensureBuilt, mb, sandbox, spawnNode, steadyMemory, stop, table } from './lib/measure.ts';
import { startApiProcess } from './lib/api-process.ts';
import { eventDatabase } from './lib/log-fixture.ts';

ensureBuilt();
const dbPath = await eventDatabase(1_000_000);

const rows: (string | number)[][] = [];
for (const threads of ['0', '1', '2']) {
  const box = sandbox();
  try {
    const api = await startApiProcess({ ...box.env, DECNET_BUS_URL: 'local:', DECNET_DB_URL: `sqlite:${dbPath}`, DECNET_API_READ_THREADS: threads });
    try {
      const h = { authorization: `Bearer ${api.token}` };
      const pid = api.child.pid!;
      const [idle] = await steadyMemory([pid]);
      await fetch(`${api.url}api/v1/logs?limit=50`, { headers: h });
      const [one] = await steadyMemory([pid]);
      await Promise.all(['logs?limit=50&search=wget', 'stats', 'logs/histogram', 'logs?limit=50&search=username:root'].map((p) => fetch(`${api.url}api/v1/${p}`, { headers: h })));
      const [heavy] = await steadyMemory([pid]);
      rows.push([threads, `${mb(idle.pss)} / ${mb(idle.uss)}`, `${mb(one.pss)} / ${mb(one.uss)}`, `${mb(heavy.pss)} / ${mb(heavy.uss)}`]);
    } finally {
      await api.stop();
    }
  } finally {
    box.cleanup();
  }
}
const baseline = spawnNode([...NODE_FLAGS, '-e', 'setInterval(() => {}, 1000)'], process.env);
const [b] = await steadyMemory([baseline.pid!]);
await stop(baseline);
process.stdout.write(`\nAPI memory, PSS / USS in MB (idle node in the same run: ${mb(b.pss)} / ${mb(b.uss)})\n\n`);
process.stdout.write(table(['reader threads (max)', 'idle', 'after one list request', 'after heavy reads side by side'], rows));
