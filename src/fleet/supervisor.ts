// One worker's restart loop inside a host (DESIGN §2): a throw restarts it with exponential backoff
// (1 s doubling to 30 s, reset after a run of 60 s); a clean return ends it; stop/restart/start
// requests from the control topic act on this worker alone. Each run happens inside its own
// AsyncLocalStorage context so that the host can attribute an uncaught exception or unhandled
// rejection (from a timer, a socket 'error' event nobody listened to …) to the run that caused it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Bus, Payload, SubscribeOptions, Subscription } from '../bus/types.ts';
import type { Logger } from '../core/log.ts';
import { errorMessage } from '../core/errors.ts';
import { isFatalWorkerError, type HealthExtra, type WorkerContext, type WorkerDefinition } from './worker.ts';

export type WorkerState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'done' | 'failed';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** A run at least this long resets the backoff to initialMs. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000, resetAfterMs: 60_000 };

/** What the AsyncLocalStorage carries: which worker run is executing. */
export interface RunContext {
  slot: WorkerSlot;
  attempt: number;
}

export const runContext = new AsyncLocalStorage<RunContext>();

/** The bus as one run of a worker sees it: subscriptions are closed when the run ends, so a
 * restarted worker never inherits its previous run's subscriptions. */
function scopedBus(bus: Bus): { bus: Bus; closeAll(): void } {
  const subs = new Set<Subscription>();
  const scoped: Bus = {
    member: bus.member,
    publish: (topic: string, payload: Payload, type?: string) => bus.publish(topic, payload, type),
    subscribe(pattern: string, opts?: SubscribeOptions): Subscription {
      const sub = bus.subscribe(pattern, opts);
      subs.add(sub);
      return sub;
    },
    stats: () => bus.stats(),
    close: async () => {
      for (const s of subs) s.close();
      subs.clear();
    },
  };
  return {
    bus: scoped,
    closeAll() {
      for (const s of subs) s.close();
      subs.clear();
    },
  };
}

export interface SlotDeps {
  bus: Bus;
  log: Logger;
  config: Readonly<Record<string, unknown>>;
  backoff: BackoffPolicy;
  /** How long a worker may take to honour an abort before its run is abandoned. */
  stopGraceMs: number;
  hostSignal: AbortSignal;
  db(): Promise<unknown>;
  onChange(): void;
  onHeartbeatInterval(slot: WorkerSlot): void;
}

export class WorkerSlot {
  readonly def: WorkerDefinition;
  readonly deps: SlotDeps;
  state: WorkerState = 'starting';
  restarts = 0;
  attempt = 0;
  runStartedAt = 0;
  lastError: string | undefined;
  extra: Record<string, unknown> = {};
  /** Evaluated at each heartbeat, on top of `extra`. */
  extraFn: (() => HealthExtra) | undefined;
  /** Set by the worker through ctx.setHeartbeatInterval(); undefined means the host's default. */
  heartbeatMs: number | undefined;
  lastHeartbeatAt = 0;
  backoffMs: number;
  /** Resolves when the loop has ended for good (host shutdown). */
  readonly done: Promise<void>;

  private controller: AbortController | undefined;
  private pending: 'stop' | 'restart' | undefined;
  private wake: (() => void) | undefined;
  private crash: ((err: unknown) => void) | undefined;
  private abandonTimer: NodeJS.Timeout | undefined;

  constructor(def: WorkerDefinition, deps: SlotDeps) {
    this.def = def;
    this.deps = deps;
    this.backoffMs = deps.backoff.initialMs;
    this.done = this.loop();
  }

  get name(): string {
    return this.def.name;
  }

  uptimeMs(): number {
    return this.state === 'running' ? Date.now() - this.runStartedAt : 0;
  }

  /** The worker's own health fields for the next heartbeat. */
  healthExtra(): Record<string, unknown> {
    if (!this.extraFn) return this.extra;
    try {
      return { ...this.extra, ...this.extraFn() };
    } catch (err) {
      return { ...this.extra, health_error: errorMessage(err) };
    }
  }

  /** Called by the host when an uncaught error is attributed to this worker. */
  crashed(err: unknown, attempt: number): void {
    if (attempt !== this.attempt || !this.crash) {
      this.deps.log.warn('late error from an earlier run, ignored', { error: errorMessage(err) });
      return;
    }
    this.crash(err);
  }

  request(action: 'stop' | 'restart' | 'start'): void {
    if (action === 'start') {
      if (this.state === 'stopped' || this.state === 'done' || this.state === 'failed' || this.state === 'backoff') this.wake?.();
      return;
    }
    if (this.state === 'stopped' || this.state === 'done' || this.state === 'failed') {
      if (action === 'restart') this.wake?.();
      return;
    }
    this.pending = action;
    if (this.state === 'backoff') {
      this.wake?.();
      return;
    }
    this.abortRun(action);
  }

  /** Host shutdown. */
  shutdown(): void {
    this.abortRun('shutdown');
    this.wake?.();
  }

  private abortRun(reason: string): void {
    const controller = this.controller;
    if (!controller || controller.signal.aborted) return;
    this.state = 'stopping';
    this.deps.onChange();
    controller.abort(reason);
    // A worker that ignores its signal is abandoned after the grace period so the others can go on.
    this.abandonTimer = setTimeout(() => {
      this.deps.log.warn(`did not stop within ${this.deps.stopGraceMs} ms of being asked; abandoning this run`);
      this.crash?.(new AbandonedRun());
    }, this.deps.stopGraceMs);
    this.abandonTimer.unref();
  }

  /** Waits until woken (start/restart request or host shutdown) or `ms` elapse. */
  private pause(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        if (timer) clearTimeout(timer);
        this.deps.hostSignal.removeEventListener('abort', finish);
        this.wake = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(finish, ms);
      this.wake = finish;
      this.deps.hostSignal.addEventListener('abort', finish, { once: true });
    });
  }

  private setState(state: WorkerState): void {
    this.state = state;
    this.deps.onChange();
  }

  private async loop(): Promise<void> {
    const { log, hostSignal } = this.deps;
    while (!hostSignal.aborted) {
      const attempt = ++this.attempt;
      const controller = new AbortController();
      this.controller = controller;
      const scoped = scopedBus(this.deps.bus);
      const ctx: WorkerContext = {
        name: this.def.name,
        bus: scoped.bus,
        db: this.deps.db,
        config: this.deps.config,
        log,
        signal: controller.signal,
        health: (extra) => {
          if (typeof extra === 'function') this.extraFn = extra;
          else this.extra = { ...this.extra, ...extra };
        },
        setHeartbeatInterval: (ms) => {
          if (!Number.isFinite(ms) || ms < 10) throw new RangeError(`heartbeat interval ${ms} ms is too short`);
          this.heartbeatMs = ms;
          this.deps.onHeartbeatInterval(this);
        },
      };
      const crashed = new Promise<never>((_, reject) => {
        this.crash = reject;
      });
      this.runStartedAt = Date.now();
      this.setState('running');
      let threw: unknown;
      let didThrow = false;
      try {
        await Promise.race([runContext.run({ slot: this, attempt }, () => this.def.run(ctx)), crashed]);
      } catch (err) {
        didThrow = true;
        threw = err;
      }
      this.crash = undefined;
      clearTimeout(this.abandonTimer);
      if (!controller.signal.aborted) controller.abort('run ended');
      scoped.closeAll();
      const ranMs = Date.now() - this.runStartedAt;

      if (hostSignal.aborted) break;
      const pending = this.pending;
      this.pending = undefined;
      if (pending === 'restart') {
        this.restarts++;
        log.info('restarting on request');
        continue;
      }
      if (pending === 'stop') {
        log.info('stopped on request');
        this.setState('stopped');
        await this.pause();
        continue;
      }
      if (!didThrow) {
        log.info('returned; not restarting');
        this.setState('done');
        await this.pause();
        continue;
      }
      this.lastError = errorMessage(threw);
      if (isFatalWorkerError(threw)) {
        log.error(`failed: ${this.lastError}; not restarting (a restart cannot fix this)`);
        this.setState('failed');
        await this.pause();
        continue;
      }
      this.restarts++;
      if (ranMs >= this.deps.backoff.resetAfterMs) this.backoffMs = this.deps.backoff.initialMs;
      const wait = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.deps.backoff.maxMs);
      log.error(`crashed after ${ranMs} ms; restarting in ${wait} ms`, { error: threw, restarts: this.restarts });
      this.setState('backoff');
      await this.pause(wait);
      if (this.pending === 'stop') {
        this.pending = undefined;
        this.setState('stopped');
        await this.pause();
      }
      this.pending = undefined;
    }
    this.setState('stopped');
  }
}

export class AbandonedRun extends Error {
  constructor() {
    super('run abandoned: the worker did not honour its abort signal');
    this.name = 'AbandonedRun';
  }
}
