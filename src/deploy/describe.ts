// What deckies exist and how they are doing: the deployed plan (or the default one) joined with the
// decoy host's live state file. `decnet status` and `decnet deploy` print it.
import { errorMessage } from '../core/errors.ts';
import { findService } from '../deckies/catalog.ts';
import { defaultPlan } from '../deckies/default-plan.ts';
import { readLiveState, type LiveState } from '../deckies/live-state.ts';
import type { DeckyPlan, DeployPlan } from '../deckies/plan.ts';
import type { ListenerState } from '../deckies/host.ts';
import { isAlive } from '../fleet/host-state.ts';
import { planPath, readPlan } from './plan-file.ts';

export type DeckyLiveState = 'up' | 'partial' | 'down' | 'starting' | 'not running';

export interface DeckyDescription {
  name: string;
  ip: string;
  hostname: string;
  archetype: string;
  distro: string;
  osFamily: string;
  services: { name: string; ports: string[] }[];
  state: DeckyLiveState;
  /** Listeners that failed, with the reason and a hint. */
  problems: { service: string; port: number; error: string; hint?: string }[];
}

export interface DeckiesDescription {
  plan_path: string;
  source: 'deployed' | 'default' | 'invalid';
  plan_error?: string;
  generated: string;
  host: { running: boolean; pid?: number; updated_at?: number; applied: boolean; event_log?: string };
  deckies: DeckyDescription[];
}

/** Ports a decky's service listens on: live ones if known, else planned (catalog defaults, overrides, offset). */
export function plannedPorts(d: DeckyPlan, service: string): string[] {
  const svc = d.services.find((s) => s.name === service);
  const defaults = findService(service)?.ports ?? [];
  return defaults.map((p, i) => {
    const [num, proto] = p.split('/');
    const def = Number(num);
    const port = svc?.ports?.[i] ?? (d.lowPortOffset && def < 1024 ? def + d.lowPortOffset : def);
    return `${port}/${proto}`;
  });
}

function liveOf(live: LiveState | undefined, name: string): ListenerState[] | undefined {
  return live?.deckies.find((d) => d.name === name)?.listeners;
}

export function describePlan(plan: DeployPlan, live: LiveState | undefined): DeckyDescription[] {
  const applied = live !== undefined && live.plan_generated === plan.generated;
  return plan.deckies.map((d) => {
    const listeners = applied ? liveOf(live, d.name) : undefined;
    let state: DeckyLiveState = 'not running';
    if (live && !applied) state = 'starting';
    if (listeners) {
      const up = listeners.filter((l) => l.status === 'listening').length;
      state = listeners.some((l) => l.status === 'starting') ? 'starting' : up === listeners.length ? 'up' : up === 0 ? 'down' : 'partial';
    }
    return {
      name: d.name,
      ip: d.ip,
      hostname: d.persona.hostname,
      archetype: d.persona.archetype,
      distro: d.persona.distro,
      osFamily: d.persona.osFamily,
      services: d.services.map((s) => ({
        name: s.name,
        ports: listeners ? listeners.filter((l) => l.service === s.name).map((l) => `${l.status === 'listening' ? l.port : l.requestedPort}/${l.transport}`) : plannedPorts(d, s.name),
      })),
      state,
      problems: (listeners ?? []).filter((l) => l.status === 'failed').map((l) => ({ service: l.service, port: l.requestedPort, error: l.error ?? 'failed', ...(l.hint ? { hint: l.hint } : {}) })),
    };
  });
}

/** The live state if its host process is alive. */
export function liveDecoyHost(): LiveState | undefined {
  const live = readLiveState();
  return live && isAlive(live.pid) ? live : undefined;
}

export async function describeDeckies(): Promise<DeckiesDescription> {
  const path = planPath();
  const live = liveDecoyHost();
  let plan: DeployPlan;
  let source: DeckiesDescription['source'] = 'deployed';
  let planError: string | undefined;
  try {
    const read = await readPlan(path);
    if (read) plan = read;
    else {
      plan = defaultPlan();
      source = 'default';
      // The running host's default plan may differ in ports (privileges); trust what it reports.
      if (live?.plan_generated === 'default') plan = { ...plan, generated: 'default' };
    }
  } catch (err) {
    plan = { version: 1, generated: 'invalid', deckies: [] };
    source = 'invalid';
    planError = errorMessage(err);
  }
  const out: DeckiesDescription = {
    plan_path: path,
    source,
    generated: plan.generated,
    host: { running: live !== undefined, applied: live?.plan_generated === plan.generated },
    deckies: describePlan(plan, live),
  };
  if (planError) out.plan_error = planError;
  if (live) Object.assign(out.host, { pid: live.pid, updated_at: live.updated_at, event_log: live.event_log });
  return out;
}
