// `decnet up`: the whole fleet from its spec, with a live one-line-per-process status; Ctrl-C stops
// everything (broker last) and leaves nothing running.
import type { ParsedArgs } from './args.ts';
import { loadFleetSpec, resolveProcesses, type Layout } from '../fleet/spec.ts';
import { Launcher, type ManagedProcess } from '../fleet/launcher.ts';
import { isAlive, readHostState, removeHostState, writeHostState } from '../fleet/host-state.ts';
import { readMemory, formatKiB } from '../fleet/memory.ts';
import { dataDir, runDir } from '../core/paths.ts';
import { DecnetError } from '../core/errors.ts';
import { colour, formatAge, renderTable } from './table.ts';

const FLEET_STATE_NAME = 'up';

function statusTable(processes: ManagedProcess[]): string {
  const now = Date.now();
  const rows = processes.map((p) => {
    const mem = p.pid ? readMemory(p.pid) : undefined;
    const state =
      p.state === 'running' ? colour.green('running') : p.state === 'backoff' ? colour.yellow(`restart in ${Math.max(0, Math.ceil(((p.nextStartAt ?? now) - now) / 1000))}s`) : p.state;
    return [p.spec.name, p.pid ? String(p.pid) : '-', state, p.state === 'running' ? formatAge(now - p.startedAt) : '-', String(p.restarts), mem ? formatKiB(mem.pss) : '-', p.spec.workers.join(', ')];
  });
  return renderTable(['PROCESS', 'PID', 'STATE', 'UPTIME', 'RESTARTS', 'PSS', 'WORKERS'], rows, [1, 4, 5]);
}

export default async function up(args: ParsedArgs): Promise<number> {
  const specFile = args.options.fleet as string | undefined;
  const spec = loadFleetSpec(specFile);
  const layout = (args.options.layout as Layout | undefined) ?? spec.layout;
  const processes = resolveProcesses(spec, layout);
  const existing = readHostState(FLEET_STATE_NAME);
  if (existing && existing.pid !== process.pid && isAlive(existing.pid)) {
    throw new DecnetError(`the fleet is already up (pid ${existing.pid}); stop it with Ctrl-C there or \`kill ${existing.pid}\``, 1);
  }
  const live = process.stdout.isTTY === true && !args.options.quiet;
  const say = (line: string) => process.stdout.write(line + '\n');

  say(`decnet up: ${processes.length} process(es), layout ${layout}, spec ${spec.source}`);
  say(`data ${dataDir()}  run ${runDir()}  logs ${dataDir()}/logs/<process>.log`);
  const hasApi = processes.some((p) => p.workers.includes('api'));
  const dashboard = hasApi ? await import('./up-dashboard.ts') : undefined;
  const seed = await dashboard?.seedAdminAccount();

  const launcher = new Launcher({
    spec,
    specFile,
    layout,
    processes,
    onChange: (p, message) => {
      if (!live) say(`${new Date().toISOString()} ${p.spec.name}: ${message}`);
    },
  });
  const writeState = () =>
    writeHostState({
      name: FLEET_STATE_NAME,
      pid: process.pid,
      role: 'fleet',
      started_at: startedAt,
      updated_at: Date.now(),
      bus_url: process.env.DECNET_BUS_URL ?? 'unix:',
      workers: [],
    });
  const startedAt = Date.now();
  writeState();

  let drawn = 0;
  const redraw = () => {
    const text = statusTable(launcher.processes);
    if (drawn) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
    process.stdout.write(text);
    drawn = text.split('\n').length - 1;
  };

  let stopRequested = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopRequested) return;
      stopRequested = true;
      if (live) process.stdout.write('\n');
      say(`${signal}: stopping the fleet…`);
      void launcher.stop().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  });

  try {
    await launcher.start();
  } catch (err) {
    await launcher.stop();
    removeHostState(FLEET_STATE_NAME);
    throw new DecnetError(`fleet start failed: ${(err as Error).message}`, 1);
  }
  say('fleet is up. `decnet status` shows workers, `decnet mem` memory. Ctrl-C stops everything.');
  if (dashboard && seed) for (const line of dashboard.firstLoginLines(await dashboard.waitForDashboard(15_000), seed)) say(line);
  if (live) say('');
  const ticker = setInterval(() => {
    writeState();
    if (live && !stopRequested) redraw();
  }, 1000);
  if (live) redraw();
  await stopped;
  clearInterval(ticker);
  removeHostState(FLEET_STATE_NAME);
  say('fleet stopped; nothing left running.');
  return 0;
}
