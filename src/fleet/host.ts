// A host: the process that runs one or more workers (DESIGN §2). Workers share one bus connection and
// one database handle; each has its own restart loop (supervisor.ts). The host publishes heartbeats,
// obeys system.<worker>.control, attributes uncaught errors to the worker that caused them, and on
// SIGTERM/SIGINT stops everything within a deadline.
import { hostname } from 'node:os';
import type { Bus, BusConnection } from '../bus/types.ts';
import { topics, type ControlPayload } from '../bus/topics.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { errorMessage } from '../core/errors.ts';
import type { WorkerDefinition } from './worker.ts';
import { DEFAULT_BACKOFF, WorkerSlot, runContext, type BackoffPolicy } from './supervisor.ts';
import { readMemory, type MemoryReading } from './memory.ts';
import { LoopDelayMonitor } from './loop-delay.ts';
import { isAlive, readHostState, removeHostState, writeHostState, type HostState } from './host-state.ts';
import { DecnetError } from '../core/errors.ts';
import { envBool } from '../core/env.ts';
import { IdleCompaction } from './idle-compaction.ts';

export interface HostedWorker {
  def: WorkerDefinition;
  config?: Record<string, unknown>;
}

export interface HostOptions {
  /** Process name: the group, or the worker's name when standalone. */
  name: string;
  workers: HostedWorker[];
  /** Bus URL; 'local:' for a process that contains the broker. Default: DECNET_BUS_URL or 'unix:'. */
  busUrl?: string;
  healthIntervalMs?: number;
  backoff?: BackoffPolicy;
  /** How long shutdown waits for workers to return. */
  stopDeadlineMs?: number;
  /** Write <run dir>/hosts/<name>.json (default true). */
  stateFile?: boolean;
}

export interface HostSnapshot {
  name: string;
  pid: number;
  memory?: MemoryReading;
  workers: { name: string; state: string; restarts: number; uptime_s: number; last_error?: string }[];
}

function envMs(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new DecnetError(`${name}=${JSON.stringify(raw)} must be a number of milliseconds`, 2);
  return n;
}

/** Timing knobs, overridable from the environment (tests shorten them). */
export function hostTimingFromEnv(): Pick<HostOptions, 'healthIntervalMs' | 'backoff' | 'stopDeadlineMs'> {
  return {
    healthIntervalMs: envMs('DECNET_HEALTH_INTERVAL_MS', 30_000),
    stopDeadlineMs: envMs('DECNET_STOP_DEADLINE_MS', 10_000),
    backoff: {
      initialMs: envMs('DECNET_BACKOFF_INITIAL_MS', DEFAULT_BACKOFF.initialMs),
      maxMs: envMs('DECNET_BACKOFF_MAX_MS', DEFAULT_BACKOFF.maxMs),
      resetAfterMs: envMs('DECNET_BACKOFF_RESET_MS', DEFAULT_BACKOFF.resetAfterMs),
    },
  };
}

export class Host {
  readonly name: string;
  readonly log: Logger;
  readonly startedAt = Date.now();
  private readonly opts: HostOptions;
  private readonly abort = new AbortController();
  private readonly slots: WorkerSlot[] = [];
  private connection: BusConnection | undefined;
  private hostBus: Bus | undefined;
  private readonly heartbeatTimers = new Map<WorkerSlot, NodeJS.Timeout>();
  private allEndedResolve: (() => void) | undefined;
  /** Resolves when every worker has returned or failed for good (nothing left to run). */
  readonly allEnded = new Promise<void>((resolve) => {
    this.allEndedResolve = resolve;
  });
  private stateTimer: NodeJS.Timeout | undefined;
  private readonly loopDelay = new LoopDelayMonitor();
  /** Gives spare heap back once the host is quiet (idle-compaction.ts); DECNET_IDLE_COMPACTION=false turns it off. */
  private compaction: IdleCompaction | undefined;
  private lastDelayP99 = 0;
  private lastMemory: MemoryReading | undefined;
  private lastHeartbeat = 0;
  private stopping: Promise<void> | undefined;
  private readonly onUncaught = (err: unknown) => this.attribute(err, 'uncaught exception');
  private readonly onRejection = (reason: unknown) => this.attribute(reason, 'unhandled rejection');

  constructor(opts: HostOptions) {
    const names = new Set<string>();
    for (const w of opts.workers) {
      if (names.has(w.def.name)) throw new DecnetError(`worker ${w.def.name} is listed twice in host ${opts.name}`, 2);
      names.add(w.def.name);
    }
    this.opts = opts;
    this.name = opts.name;
    this.log = createLogger(`host:${opts.name}`);
  }

  get busUrl(): string {
    return this.opts.busUrl ?? process.env.DECNET_BUS_URL ?? 'unix:';
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  async start(): Promise<void> {
    if (this.opts.stateFile !== false) this.refuseDuplicate();
    process.on('uncaughtException', this.onUncaught);
    process.on('unhandledRejection', this.onRejection);
    const { openBus } = await import('../bus/connect.ts');
    this.connection = await openBus(this.busUrl, { name: `${this.name}[${process.pid}]` });
    this.hostBus = this.connection.member(`host-${this.name}`);
    const db = async (): Promise<unknown> => {
      const { sharedDatabase } = await import('../db/connection.ts');
      return sharedDatabase();
    };
    for (const worker of this.opts.workers) {
      const bus = this.connection.member(worker.def.name);
      const slot = new WorkerSlot(worker.def, {
        bus,
        log: createLogger(worker.def.name),
        config: Object.freeze({ ...(worker.config ?? {}) }),
        backoff: this.opts.backoff ?? DEFAULT_BACKOFF,
        stopGraceMs: this.opts.stopDeadlineMs ?? 10_000,
        hostSignal: this.abort.signal,
        db,
        onChange: () => this.onSlotChange(),
        onHeartbeatInterval: (s) => this.scheduleHeartbeat(s),
      });
      this.slots.push(slot);
      void this.listenForControl(slot);
    }
    // First heartbeats right away so `decnet status` and the API see new workers at once.
    setImmediate(() => {
      for (const slot of this.slots) {
        this.heartbeat(slot);
        if (!this.heartbeatTimers.has(slot)) this.scheduleHeartbeat(slot);
      }
    });
    if (envBool('DECNET_IDLE_COMPACTION', true)) this.compaction = new IdleCompaction();
    this.log.info(`started ${this.slots.length} worker(s): ${this.slots.map((s) => s.name).join(', ')}`, { pid: process.pid, bus: this.busUrl });
  }

  /** Resolves once every worker's loop has ended (after stop()). */
  async stop(reason = 'stop'): Promise<void> {
    this.stopping ??= this.doStop(reason);
    return this.stopping;
  }

  snapshot(): HostSnapshot {
    return {
      name: this.name,
      pid: process.pid,
      memory: this.lastMemory,
      workers: this.slots.map((s) => ({ name: s.name, state: s.state, restarts: s.restarts, uptime_s: Math.round(s.uptimeMs() / 1000), last_error: s.lastError })),
    };
  }

  private refuseDuplicate(): void {
    const existing = readHostState(this.name);
    if (existing && existing.pid !== process.pid && isAlive(existing.pid)) {
      throw new DecnetError(`process '${this.name}' is already running (pid ${existing.pid}); stop it first`, 1);
    }
  }

  private async doStop(reason: string): Promise<void> {
    this.log.info(`stopping (${reason})`);
    for (const timer of this.heartbeatTimers.values()) clearInterval(timer);
    this.heartbeatTimers.clear();
    this.abort.abort(reason);
    for (const slot of this.slots) slot.shutdown();
    const deadline = this.opts.stopDeadlineMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(this.slots.map((s) => s.done)).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), deadline);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      const late = this.slots.filter((s) => s.state !== 'stopped').map((s) => s.name);
      this.log.warn(`workers still running after ${deadline} ms: ${late.join(', ')}`);
    }
    clearTimeout(this.stateTimer);
    this.loopDelay.stop();
    this.compaction?.stop();
    await this.connection?.close().catch(() => undefined);
    if (this.opts.stateFile !== false) removeHostState(this.name);
    process.off('uncaughtException', this.onUncaught);
    process.off('unhandledRejection', this.onRejection);
    this.log.info('stopped');
  }

  /** Routes an uncaught error to the worker run that caused it; an error no worker owns ends the process. */
  private attribute(err: unknown, kind: string): void {
    const ctx = runContext.getStore();
    const slot = ctx && this.slots.includes(ctx.slot) ? ctx.slot : undefined;
    if (slot && ctx) {
      slot.deps.log.error(`${kind} in worker; restarting it alone`, { error: err });
      slot.crashed(err, ctx.attempt);
      return;
    }
    this.log.error(`${kind} outside any worker; exiting`, { error: err });
    process.exitCode = 1;
    // Give the log line a moment to reach stderr, then leave: the fleet host or systemd restarts us.
    setTimeout(() => process.exit(1), 50).unref();
  }

  private async listenForControl(slot: WorkerSlot): Promise<void> {
    const bus = this.hostBus!;
    const sub = bus.subscribe(topics.workerControl(slot.name), { queueSize: 16, signal: this.abort.signal });
    for await (const event of sub) {
      const payload = event.payload as Partial<ControlPayload> & { action?: unknown };
      const action = payload.action;
      if (action === 'stop' || action === 'restart' || action === 'start') {
        slot.deps.log.info(`control: ${action}`, { requested_by: typeof payload.requested_by === 'string' ? payload.requested_by : undefined });
        slot.request(action);
      } else {
        slot.deps.log.warn('control: unknown action ignored', { action: String(action).slice(0, 40) });
      }
    }
  }

  private onSlotChange(): void {
    this.scheduleStateWrite();
    if (this.slots.length > 0 && this.slots.every((s) => s.state === 'done' || s.state === 'failed')) this.allEndedResolve?.();
  }

  private scheduleHeartbeat(slot: WorkerSlot): void {
    clearInterval(this.heartbeatTimers.get(slot));
    if (this.abort.signal.aborted) return;
    const timer = setInterval(() => this.heartbeat(slot), slot.heartbeatMs ?? this.opts.healthIntervalMs ?? 30_000);
    this.heartbeatTimers.set(slot, timer);
  }

  /** Host-wide readings shared by the heartbeats of one moment. */
  private readings(): void {
    if (Date.now() - this.lastHeartbeat < 250 && this.lastMemory) return;
    this.lastMemory = readMemory('self');
    this.lastDelayP99 = this.loopDelay.take().p99Ms;
    this.lastHeartbeat = Date.now();
  }

  private heartbeat(slot: WorkerSlot): void {
    if (this.abort.signal.aborted) return;
    this.readings();
    const memory = this.lastMemory;
    try {
      slot.deps.bus.publish(
        topics.workerHealth(slot.name),
        {
          ...slot.healthExtra(),
          worker: slot.name,
          host: this.name,
          hostname: hostname(),
          pid: process.pid,
          ts: Date.now(),
          uptime_s: Math.round(slot.uptimeMs() / 1000),
          restarts: slot.restarts,
          state: slot.state,
          drops: slot.deps.bus.stats().drops,
          host_pss_kb: memory?.pss,
          host_pss_anon_kb: memory?.pssAnon,
          host_uss_kb: memory?.uss,
          el_delay_p99_ms: this.lastDelayP99,
          last_error: slot.lastError,
        },
        'health',
      );
    } catch (err) {
      this.log.warn('heartbeat publish failed', { worker: slot.name, error: errorMessage(err) });
    }
    slot.lastHeartbeatAt = Date.now();
    this.scheduleStateWrite();
  }

  private scheduleStateWrite(): void {
    if (this.opts.stateFile === false || this.stateTimer || this.abort.signal.aborted) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = undefined;
      this.writeState();
    }, 100);
    this.stateTimer.unref();
  }

  private writeState(): void {
    if (this.opts.stateFile === false || this.abort.signal.aborted) return;
    const state: HostState = {
      name: this.name,
      pid: process.pid,
      role: 'host',
      started_at: this.startedAt,
      updated_at: Date.now(),
      bus_url: this.busUrl,
      memory: this.lastMemory,
      el_delay_p99_ms: this.lastDelayP99,
      workers: this.slots.map((s) => ({
        name: s.name,
        state: s.state,
        restarts: s.restarts,
        uptime_s: Math.round(s.uptimeMs() / 1000),
        last_error: s.lastError,
        last_heartbeat: s.lastHeartbeatAt || undefined,
        drops: s.deps.bus.stats().drops,
        extra: s.extraFn || Object.keys(s.extra).length ? s.healthExtra() : undefined,
      })),
    };
    try {
      writeHostState(state);
    } catch (err) {
      this.log.warn('cannot write host state file', { error: errorMessage(err) });
    }
  }
}

/** Runs a host as this process's main job: starts it, stops on SIGTERM/SIGINT, and exits. */
export async function runHostProcess(opts: HostOptions): Promise<number> {
  const host = new Host({ ...hostTimingFromEnv(), ...opts });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      host.log.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    void host.stop(signal).then(() => process.exit(process.exitCode ?? 0));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  watchParent(host);
  await host.start();
  const ended = await Promise.race([
    new Promise<false>((resolve) => host.signal.addEventListener('abort', () => resolve(false), { once: true })),
    host.allEnded.then(() => true as const),
  ]);
  if (ended) {
    // Nothing left to run: leave, non-zero if a worker failed for good (the launcher or systemd decides what next).
    const failed = host.snapshot().workers.filter((w) => w.state === 'failed');
    await host.stop('every worker has ended');
    process.exit(failed.length ? 1 : 0);
  }
  await host.stop();
  process.exit(process.exitCode ?? 0);
}

/** A process started by `decnet up` stops by itself if its launcher disappears (e.g. SIGKILL), so
 * nothing is left running behind a dead launcher. */
function watchParent(host: Host): void {
  const expected = Number(process.env.DECNET_PARENT_PID);
  if (!Number.isInteger(expected) || expected <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid !== expected) {
      host.log.warn(`launcher (pid ${expected}) is gone; stopping`);
      clearInterval(timer);
      void host.stop('launcher gone').then(() => process.exit(0));
    }
  }, 1000);
  timer.unref();
}
