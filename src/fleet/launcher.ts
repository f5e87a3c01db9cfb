// `decnet up` keeps the processes of a fleet layout running: it starts the broker first, then every
// other process, restarts a process that dies (backoff 1 s doubling to 30 s, reset after 60 s of
// running) and stops them all, broker last, on request.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, renameSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { busSocketPath, dataDir, ensureDir } from '../core/paths.ts';
import { createLogger } from '../core/log.ts';
import type { FleetSpec, Layout, ProcessSpec } from './spec.ts';
import { findWorker } from './registry.ts';
import type { Host } from './host.ts';
import { fleetNodeFlags } from './node-flags.ts';

export type ProcessState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ManagedProcess {
  spec: ProcessSpec;
  state: ProcessState;
  pid?: number;
  startedAt: number;
  restarts: number;
  lastExit?: string;
  nextStartAt?: number;
  child?: ChildProcess;
  backoffMs: number;
}

export interface LauncherOptions {
  spec: FleetSpec;
  specFile?: string;
  layout: Layout;
  processes: ProcessSpec[];
  /** Called whenever a process changes state. */
  onChange?(p: ManagedProcess, message: string): void;
  stopDeadlineMs?: number;
}

const LOG_ROTATE_BYTES = 16 * 1024 * 1024;

export function decnetEntry(): string {
  return resolve(process.argv[1]);
}

function openLog(name: string): number {
  const dir = ensureDir(join(dataDir(), 'logs'));
  const path = join(dir, `${name}.log`);
  try {
    if (statSync(path).size > LOG_ROTATE_BYTES) renameSync(path, `${path}.1`);
  } catch {
    // no log yet
  }
  return openSync(path, 'a', 0o640);
}

/** Resolves once something accepts connections on the bus socket (or rejects after timeoutMs). */
export async function waitForSocket(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((done) => {
      if (!existsSync(path)) return done(false);
      const s = connect(path);
      s.once('connect', () => {
        s.destroy();
        done(true);
      });
      s.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the bus did not accept connections on ${path} within ${timeoutMs} ms`);
}

export class Launcher {
  readonly processes: ManagedProcess[];
  private readonly opts: LauncherOptions;
  private stopping = false;
  private readonly log = createLogger('up');
  /** The broker's process group runs inside the launcher: one process fewer, and the broker still
   * shares its process with no other worker. */
  private brokerHost: Host | undefined;
  private brokerProcess: ManagedProcess | undefined;

  constructor(opts: LauncherOptions) {
    this.opts = opts;
    this.processes = opts.processes.map((spec) => ({ spec, state: 'stopped', startedAt: 0, restarts: 0, backoffMs: 1000 }));
  }

  private hostsBroker(p: ManagedProcess): boolean {
    return p.spec.workers.some((w) => findWorker(w)?.providesBus);
  }

  async start(): Promise<void> {
    const broker = this.processes.find((p) => this.hostsBroker(p));
    if (broker) {
      await this.startInProcess(broker);
      await waitForSocket(busSocketPath(), 15_000);
    }
    for (const p of this.processes) if (p !== broker) this.spawn(p);
  }

  private async startInProcess(p: ManagedProcess): Promise<void> {
    const [{ Host, hostTimingFromEnv }, { loadHostedWorkers }] = await Promise.all([import('./host.ts'), import('./load-workers.ts')]);
    const { workers } = await loadHostedWorkers(p.spec.workers, this.opts.spec.workerOptions);
    this.brokerHost = new Host({ ...hostTimingFromEnv(), name: p.spec.name, workers, busUrl: 'local:' });
    this.brokerProcess = p;
    await this.brokerHost.start();
    p.state = 'running';
    p.pid = process.pid;
    p.startedAt = Date.now();
    this.emit(p, `started inside the launcher (pid ${process.pid})`);
  }

  private emit(p: ManagedProcess, message: string): void {
    this.opts.onChange?.(p, message);
  }

  private spawn(p: ManagedProcess): void {
    const { spec } = this.opts;
    const args = [
      ...fleetNodeFlags(spec.semiSpaceMb),
      `--max-old-space-size=${p.spec.oldSpaceMb}`,
      decnetEntry(),
      'supervise',
      p.spec.name,
      '--layout',
      this.opts.layout,
      ...(this.opts.specFile ? ['--fleet', this.opts.specFile] : []),
    ];
    const logFd = openLog(p.spec.name);
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', logFd, logFd],
      // Own process group: Ctrl-C reaches `up` only, which then stops the fleet in order.
      detached: true,
      env: { ...process.env, DECNET_PARENT_PID: String(process.pid), DECNET_BUS_SOCKET: busSocketPath() },
    });
    closeSync(logFd);
    p.child = child;
    p.pid = child.pid;
    p.state = 'running';
    p.startedAt = Date.now();
    p.nextStartAt = undefined;
    this.emit(p, `started (pid ${child.pid})`);
    child.once('error', (err) => this.log.error(`cannot start ${p.spec.name}`, { error: err }));
    child.once('exit', (code, signal) => this.onExit(p, code, signal));
  }

  private onExit(p: ManagedProcess, code: number | null, signal: NodeJS.Signals | null): void {
    p.child = undefined;
    p.pid = undefined;
    p.lastExit = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      p.state = 'stopped';
      this.emit(p, `stopped (${p.lastExit})`);
      return;
    }
    if (code === 0 && !signal) {
      // Every worker of that process ended by itself: like systemd's Restart=on-failure, leave it.
      p.state = 'stopped';
      this.emit(p, 'exited cleanly (its workers have ended); not restarting');
      return;
    }
    const ranMs = Date.now() - p.startedAt;
    if (ranMs >= 60_000) p.backoffMs = 1000;
    const wait = p.backoffMs;
    p.backoffMs = Math.min(p.backoffMs * 2, 30_000);
    p.restarts++;
    p.state = 'backoff';
    p.nextStartAt = Date.now() + wait;
    this.emit(p, `exited (${p.lastExit}) after ${Math.round(ranMs / 1000)} s; restarting in ${wait / 1000} s`);
    setTimeout(() => {
      if (!this.stopping) this.spawn(p);
    }, wait);
  }

  /** SIGTERM to every process (the broker last), SIGKILL to those still alive after the deadline. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const deadline = this.opts.stopDeadlineMs ?? 15_000;
    const waitExit = (p: ManagedProcess) =>
      new Promise<void>((resolve) => {
        if (!p.child || p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
        p.child.once('exit', () => resolve());
      });
    const stopGroup = async (group: ManagedProcess[]) => {
      for (const p of group) {
        if (p.child && p.pid) {
          p.state = 'stopping';
          this.emit(p, 'stopping');
          p.child.kill('SIGTERM');
        } else {
          p.state = 'stopped';
        }
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        Promise.all(group.map(waitExit)).then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), deadline);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        for (const p of group) {
          if (p.child) {
            this.log.warn(`${p.spec.name} did not stop within ${deadline} ms; killing it`);
            p.child.kill('SIGKILL');
          }
        }
        await Promise.all(group.map(waitExit));
      }
    };
    await stopGroup(this.processes.filter((p) => p !== this.brokerProcess));
    const p = this.brokerProcess;
    if (this.brokerHost && p) {
      p.state = 'stopping';
      this.emit(p, 'stopping');
      await this.brokerHost.stop('fleet stopping');
      p.state = 'stopped';
      p.pid = undefined;
      this.emit(p, 'stopped');
    }
  }
}
