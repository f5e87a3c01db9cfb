// `decnet status`: workers, their host process, state, heartbeat age and restarts, from the host
// state files in the run directory (no bus round-trip needed).
import type { ParsedArgs } from './args.ts';
import { listHostStates } from '../fleet/host-state.ts';
import { colour, formatAge, renderTable } from './table.ts';
import { runDir } from '../core/paths.ts';

function stateColour(state: string): string {
  if (state === 'running') return colour.green(state);
  if (state === 'backoff' || state === 'stopping') return colour.yellow(state);
  if (state === 'stale' || state === 'dead') return colour.red(state);
  return state;
}

export default async function status(args: ParsedArgs): Promise<number> {
  const now = Date.now();
  const hosts = listHostStates();
  const rows = hosts.flatMap((h) =>
    h.workers.map((w) => ({
      worker: w.name,
      process: h.name,
      pid: h.pid,
      state: h.alive ? w.state : 'dead',
      heartbeat_age_s: w.last_heartbeat ? Math.round((now - w.last_heartbeat) / 1000) : null,
      // The state file is rewritten at heartbeats and on changes: count the time since it was written.
      uptime_s: h.alive && w.state === 'running' ? w.uptime_s + Math.max(0, Math.round((now - h.updated_at) / 1000)) : w.uptime_s,
      restarts: w.restarts,
      last_error: w.last_error ?? null,
    })),
  );
  const { describeDeckies } = await import('../deploy/describe.ts');
  const deckies = await describeDeckies();
  if (args.options.json) {
    const processes = hosts.map((h) => ({ name: h.name, pid: h.pid, alive: h.alive, role: h.role ?? 'host', started_at: h.started_at, updated_at: h.updated_at, memory_kb: h.memory ?? null }));
    process.stdout.write(JSON.stringify({ run_dir: runDir(), processes, workers: rows, deckies }, null, 2) + '\n');
    return 0;
  }
  if (hosts.length === 0) {
    process.stdout.write(`No DECNET processes are running (run dir ${runDir()}). Start the fleet with \`decnet up\`.\n`);
    return 0;
  }
  const fleet = hosts.find((h) => h.role === 'fleet');
  if (fleet) process.stdout.write(`fleet: \`decnet up\` pid ${fleet.pid}${fleet.alive ? '' : ' (dead)'}, up ${formatAge(now - fleet.started_at)}\n\n`);
  process.stdout.write(
    renderTable(
      ['WORKER', 'PROCESS', 'PID', 'STATE', 'HEARTBEAT', 'UPTIME', 'RESTARTS', 'LAST ERROR'],
      rows.map((r) => [
        r.worker,
        r.process,
        String(r.pid),
        stateColour(r.state),
        r.heartbeat_age_s === null ? '-' : `${formatAge(r.heartbeat_age_s * 1000)} ago`,
        formatAge(r.uptime_s * 1000),
        String(r.restarts),
        (r.last_error ?? '').slice(0, 60),
      ]),
      [2, 6],
    ),
  );
  if (deckies.deckies.length) {
    const { renderDeckies } = await import('./deckies-view.ts');
    process.stdout.write(`\nDeckies (${deckies.source === 'default' ? 'default plan' : deckies.plan_path}):\n`);
    process.stdout.write(renderDeckies(deckies.deckies, { state: true }));
  }
  return 0;
}
