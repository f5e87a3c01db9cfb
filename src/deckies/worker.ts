// The `deckies` worker: runs the deploy plan (<dataDir>/deploy/plan.json, or the built-in default
// plan when none was deployed) in one decoy host, and follows changes to the plan file (fs.watch
// plus a periodic check, debounced) and `decky.*.lifecycle` bus events by diffing: new deckies
// start, removed ones stop, changed ones restart, untouched ones keep their connections.
import { stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { defineWorker, sleep, type WorkerContext } from '../fleet/worker.ts';
import { ensureDir } from '../core/paths.ts';
import { errorMessage } from '../core/errors.ts';
import { topics } from '../bus/topics.ts';
import { planPath, readPlan } from '../deploy/plan-file.ts';
import { canBindLowPorts, defaultPlan, UNPRIVILEGED_PORT_OFFSET } from './default-plan.ts';
import { startDecoyHost, type DecoyHost } from './host.ts';
import { removeLiveState, writeLiveState } from './live-state.ts';
import type { DeployPlan } from './plan.ts';

const DEBOUNCE_MS = 200;
const CHECK_EVERY_MS = 5_000;

interface Loaded {
  plan: DeployPlan;
  error?: string;
}

async function loadPlan(path: string, ctx: WorkerContext): Promise<Loaded> {
  try {
    const plan = await readPlan(path);
    if (plan) return { plan };
    const fallback = defaultPlan();
    if (!canBindLowPorts()) {
      ctx.log.warn(`no deploy plan at ${path}: running the default deckies; this process may not bind ports below 1024, so those listen on ${UNPRIVILEGED_PORT_OFFSET} + port`);
    } else {
      ctx.log.info(`no deploy plan at ${path}: running the default deckies (deploy your own with \`decnet deploy\`)`);
    }
    return { plan: fallback };
  } catch (err) {
    return { plan: { version: 1, generated: 'invalid', deckies: [] }, error: errorMessage(err) };
  }
}

export default defineWorker({
  name: 'deckies',
  summary: 'the decoy host: runs the deployed deckies and records every interaction',
  async run(ctx) {
    const path = typeof ctx.config.plan === 'string' && ctx.config.plan !== '' ? ctx.config.plan : planPath();
    ensureDir(dirname(path));
    let loaded = await loadPlan(path, ctx);
    if (loaded.error) ctx.log.error(`deploy plan rejected; no deckies run until it is fixed: ${loaded.error}`);
    const started = Date.now();
    const host: DecoyHost = await startDecoyHost(loaded.plan.deckies, { log: ctx.log });
    ctx.log.info(`event log: ${host.eventLogPath}`);

    const publishStates = (names: string[], state: 'running' | 'stopped'): void => {
      for (const name of names) {
        try {
          const d = host.deckies().find((x) => x.name === name);
          ctx.bus.publish(topics.decky(name, 'state'), { decky: name, state, ip: d?.ip ?? null, services: d?.services ?? [] }, 'decky_state');
        } catch (err) {
          ctx.log.debug('decky state not published', { decky: name, err });
        }
      }
    };
    const report = (): void => {
      const s = host.stats();
      const extra = {
        deckies: s.deckies,
        services: s.services,
        listeners: s.listeners,
        failed_listeners: s.failedListeners,
        connections: s.connections.active,
        connections_total: s.connections.total,
        events: s.events.written,
        drops: { ...s.drops, events_log: s.events.dropped },
        plan: loaded.plan.generated,
        plan_error: loaded.error ?? null,
      };
      ctx.health(extra);
      try {
        writeLiveState({
          pid: process.pid,
          started_at: started,
          updated_at: Date.now(),
          plan_generated: loaded.plan.generated,
          plan_path: path,
          event_log: host.eventLogPath,
          deckies: host.deckies(),
          stats: { deckies: s.deckies, services: s.services, listeners: s.listeners, failedListeners: s.failedListeners, connections: s.connections, events_written: s.events.written, events_dropped: s.events.dropped },
        });
      } catch (err) {
        ctx.log.warn('cannot write the live state file', { err });
      }
    };
    publishStates(host.deckies().map((d) => d.name), 'running');
    report();

    // Reloads are serialised; a change arriving during one triggers exactly one more.
    let lastMtime = await stat(path).then((s) => s.mtimeMs, () => 0);
    let timer: NodeJS.Timeout | undefined;
    let reloading: Promise<void> | undefined;
    let again = false;
    const reload = async (): Promise<void> => {
      lastMtime = await stat(path).then((s) => s.mtimeMs, () => 0);
      const next = await loadPlan(path, ctx);
      if (next.error) {
        ctx.log.error(`deploy plan rejected; keeping the running deckies: ${next.error}`);
        loaded = { plan: loaded.plan, error: next.error };
        report();
        return;
      }
      const result = await host.apply(next.plan.deckies);
      loaded = next;
      if (result.added.length + result.removed.length + result.restarted.length > 0) {
        ctx.log.info('deploy plan applied', { added: result.added.join(',') || '-', removed: result.removed.join(',') || '-', restarted: result.restarted.join(',') || '-' });
      }
      publishStates([...result.added, ...result.restarted], 'running');
      publishStates(result.removed, 'stopped');
      report();
    };
    const scheduleReload = (): void => {
      if (ctx.signal.aborted) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (reloading) {
          again = true;
          return;
        }
        reloading = reload()
          .catch((err) => ctx.log.error('plan reload failed', { err }))
          .finally(() => {
            reloading = undefined;
            if (again) {
              again = false;
              scheduleReload();
            }
          });
      }, DEBOUNCE_MS);
    };

    let watcher: FSWatcher | undefined;
    try {
      const file = basename(path);
      // The directory, not the file: the plan is replaced by rename, which a file watch would lose.
      watcher = watch(dirname(path), { persistent: false }, (_event, name) => {
        if (name === null || name === file) scheduleReload();
      });
      watcher.on('error', (err) => ctx.log.warn('plan watch failed; relying on periodic checks', { err }));
    } catch (err) {
      ctx.log.warn('cannot watch the plan directory; relying on periodic checks', { err });
    }

    const sub = ctx.bus.subscribe('decky.*.lifecycle', { signal: ctx.signal, queueSize: 64 });
    void (async () => {
      for await (const _ of sub) scheduleReload();
    })().catch(() => undefined);

    try {
      while (await sleep(CHECK_EVERY_MS, ctx.signal)) {
        const mtime = await stat(path).then((s) => s.mtimeMs, () => 0);
        if (mtime !== lastMtime) {
          lastMtime = mtime;
          scheduleReload();
        }
        await host.reopenLogIfRotated().catch((err) => ctx.log.warn('event log rotation check failed', { err }));
        report();
      }
    } finally {
      clearTimeout(timer);
      watcher?.close();
      sub.close();
      await reloading;
      const names = host.deckies().map((d) => d.name);
      await host.stop();
      publishStates(names, 'stopped');
      removeLiveState();
    }
  },
});
