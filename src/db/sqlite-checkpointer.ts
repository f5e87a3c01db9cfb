// Background WAL checkpoints for a busy SQLite writer. A checkpoint copies the write-ahead log
// into the database file and fsyncs it; run by the writing connection, it happens inside a
// COMMIT and holds the event loop for tens of milliseconds. A process that writes a lot (the
// ingester) starts this worker thread, which checkpoints on its own connection (PASSIVE: it never
// blocks writers) and, when the log has grown long under a writer that never pauses, TRUNCATE
// (which holds new writers back for a moment, while they wait asynchronously, and shrinks the log
// file). The main connection's automatic checkpoint stays as a distant fallback. Under a sustained
// bulk load the log still reaches tens of MB between checkpoints; it is reset within seconds.
import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated in the thread: no module of ours to resolve, so it works the same from
// sources and from the bundle.
const THREAD_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const emit = process.emitWarning;
process.emitWarning = (w, ...rest) => (/sqlite/i.test(String(w && w.message || w)) ? undefined : emit.call(process, w, ...rest));
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 250');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const truncate = db.prepare('PRAGMA wal_checkpoint(TRUNCATE)');
const timer = setInterval(() => {
  try {
    const r = passive.get();
    // A writer that never pauses keeps the log from being reset: once it is long, a TRUNCATE
    // checkpoint briefly holds new writers back (they wait asynchronously) and lets it start over.
    if (r && r.log > workerData.truncateFrames) truncate.get();
  } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); try { db.close(); } catch {} parentPort.close(); });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(path: string, intervalMs = 200, truncateFrames = 4096): Checkpointer {
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { path, intervalMs, truncateFrames }, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 } });
  worker.unref(); // never keeps the process alive
  worker.on('error', () => undefined); // a failed thread only means checkpoints fall back to the writer
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        if (worker.threadId === -1) return resolve();
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 1000);
        worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage('stop');
      }),
  };
}
