// The worker contract (DESIGN §2). A worker is a named long-running job; the same code runs in a
// standalone process, in a `supervise` group or in the single-process fleet. This module is tiny and
// type-heavy on purpose: every worker imports it.
import type { Bus } from '../bus/types.ts';
import type { Logger } from '../core/log.ts';

export type HealthExtra = Record<string, unknown>;

export interface WorkerContext {
  /** The worker's name (also its health and control topic token). */
  readonly name: string;
  /** This worker's member view of the host's bus connection. */
  readonly bus: Bus;
  /** The database (lazy: the first call loads the driver and runs migrations). */
  db(): Promise<unknown>;
  /** Options from the fleet spec or the command line, plus the environment. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Structured log tagged with the worker's name. */
  readonly log: Logger;
  /** Aborted when the worker must stop (host shutdown, `stop`/`restart` control, restart after a crash). */
  readonly signal: AbortSignal;
  /** Adds fields to this worker's heartbeats: an object (merged with earlier ones) or a function
   * evaluated at each heartbeat, for counters that change. */
  health(extra: HealthExtra | (() => HealthExtra)): void;
  /** Changes how often this worker's heartbeat is published (default: the host's interval, 30 s). */
  setHeartbeatInterval(ms: number): void;
}

export interface WorkerDefinition {
  readonly name: string;
  /** One line for `decnet --help` and `decnet status`. */
  readonly summary?: string;
  /** Runs until ctx.signal aborts. Throwing restarts the worker with backoff; returning ends it. */
  run(ctx: WorkerContext): Promise<void>;
}

/** Thrown by a worker for a problem a restart cannot fix (bad configuration, a resource owned by
 * someone else). The worker is marked failed and not restarted. A ConfigError or UsageError
 * counts as fatal too. */
export class WorkerFatalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerFatalError';
  }
}

export function isFatalWorkerError(err: unknown): boolean {
  if (err instanceof WorkerFatalError) return true;
  return err instanceof Error && (err as { exitCode?: unknown }).exitCode === 2;
}

export function defineWorker(def: WorkerDefinition): WorkerDefinition {
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(def.name)) {
    throw new Error(`worker name ${JSON.stringify(def.name)} must be lowercase letters, digits and '-'`);
  }
  return Object.freeze({ ...def });
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. Returns true if it slept fully. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
