// Folds a page of one attacker's new events into its stored profile and behaviour record. Every
// aggregate lives in those two rows (counts, lists, the hop path, timing accumulators, phase
// counts), so the profiler resumes after a restart with nothing lost and nothing counted twice:
// the page and the cursor that follows it are committed together.
import type { AttackerCommand, AttackerRow, AttackerUpsert, BehaviorRow, BehaviorUpsert } from '../../db/attackers/repo.ts';
import { addEvents, reviveTiming, type TimingStats } from './timing.ts';
import { addPhases, phaseCount, revivePhases, type PhaseEntry } from './phases.ts';
import { classify, type BehaviorClass } from './classify.ts';
import { C2_TOOLS, cadenceTools, classifyUserAgent, hasshTool, sshClientTool } from '../tool-signatures.ts';

export interface ProfileEvent {
  ts: string;
  decky: string | null;
  service: string | null;
  event_type: string | null;
  fields: Record<string, unknown>;
}

export const MAX_COMMANDS = 500;
export const MAX_COMMAND_CHARS = 1024;
export const MAX_HOPS = 256;
const MAX_BANNERS = 32;
const MAX_KEX = 16;
const MAX_TOOLS = 32;
const HOP = ' → ';

/** Deckies whose name starts with this are DECNET's own components (prober, sniffer), never a hop. */
export const INTERNAL_PREFIX = 'decnet-';

const COMMAND_EVENTS = new Set(['command', 'exec', 'shell_input', 'sql_query', 'redis_command']);
const DATABASE_SERVICES = new Set(['mysql', 'postgres', 'mssql', 'mongodb', 'redis', 'elasticsearch']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The command text of an event, when it is a command (shell line, SQL, Redis, Mongo, FTP/SMTP verb). */
export function commandText(e: ProfileEvent): string | null {
  const type = e.event_type ?? '';
  const f = e.fields;
  const isQuery = type === 'query' && DATABASE_SERVICES.has(e.service ?? '') && (str(f.sql) !== undefined || str(f.query) !== undefined);
  if (!COMMAND_EVENTS.has(type) && !isQuery) return null;
  let text: string | undefined;
  const command = str(f.command);
  if (command !== undefined) text = str(f.args) ? `${command} ${f.args as string}` : str(f.query) && isQuery ? `${command} ${f.query as string}` : command;
  text ??= str(f.sql) ?? str(f.query) ?? (str(f.cmd) ? (str(f.arg) ? `${f.cmd as string} ${f.arg as string}` : (f.cmd as string)) : undefined) ?? str(f.input) ?? str(f.line);
  if (text === undefined) return null;
  return text.length > MAX_COMMAND_CHARS ? text.slice(0, MAX_COMMAND_CHARS) : text;
}

function hopsOf(row: AttackerRow | undefined): string[] {
  if (!row) return [];
  if (row.traversal_path) return row.traversal_path.split(HOP);
  return row.deckies.slice(0, 1);
}

export interface MergedProfile {
  attacker: AttackerUpsert;
  behavior: BehaviorUpsert;
  /** No profile existed before (or only a placeholder row another worker created). */
  firstSighting: boolean;
  behaviorClass: BehaviorClass;
  toolGuesses: string[];
}

export function mergeProfile(ip: string, prev: AttackerRow | undefined, prevBehavior: BehaviorRow | undefined, events: readonly ProfileEvent[]): MergedProfile {
  const services = new Set(prev?.services ?? []);
  const deckies = [...(prev?.deckies ?? [])];
  const known = new Set(deckies);
  const hops = hopsOf(prev);
  const commands: AttackerCommand[] = [...(prev?.commands ?? [])];
  let added = 0;
  let first = prev && prev.event_count > 0 ? prev.first_seen : null;
  let last = prev && prev.event_count > 0 ? prev.last_seen : null;
  const banners = new Set(prevBehavior?.ssh_client_banners ?? []);
  const kex = new Set((prevBehavior?.kex_order_raw ?? []).filter((k): k is string => typeof k === 'string'));
  const evidenceTools = new Set((prevBehavior?.tool_guesses ?? []).filter((t) => !C2_TOOLS.has(t)));

  for (const e of events) {
    if (first === null || e.ts < first) first = e.ts;
    if (last === null || e.ts > last) last = e.ts;
    if (e.service) services.add(e.service);
    const decky = e.decky;
    if (decky && !decky.startsWith(INTERNAL_PREFIX)) {
      if (!known.has(decky)) {
        known.add(decky);
        deckies.push(decky);
      }
      if (hops[hops.length - 1] !== decky) hops.push(decky);
    }
    const text = commandText(e);
    if (text !== null) {
      commands.push({ service: e.service ?? undefined, decky: decky ?? undefined, command: text, timestamp: e.ts });
      added++;
    }
    const f = e.fields;
    const version = str(f.client_version);
    if (version !== undefined && (e.service === 'ssh' || version.startsWith('SSH-'))) {
      if (banners.size < MAX_BANNERS) banners.add(version.slice(0, 256));
      const tool = sshClientTool(version);
      if (tool) evidenceTools.add(tool);
    }
    const hassh = str(f.hassh);
    if (hassh !== undefined) {
      const tool = hasshTool(hassh);
      if (tool) evidenceTools.add(tool);
      const algorithms = str(f.hassh_algorithms);
      if (algorithms !== undefined && kex.size < MAX_KEX) kex.add(algorithms.split(';')[0].slice(0, 2048));
    }
    const ua = str(f.user_agent);
    if (ua !== undefined) {
      const tool = classifyUserAgent(ua).tool;
      if (tool) evidenceTools.add(tool);
    }
  }
  if (commands.length > MAX_COMMANDS) commands.splice(0, commands.length - MAX_COMMANDS);
  if (hops.length > MAX_HOPS) hops.splice(0, hops.length - (MAX_HOPS - 1), '…');

  const timing: TimingStats = addEvents(reviveTiming(prevBehavior?.timing_stats), events.map((e) => e.ts));
  const phases: PhaseEntry[] = addPhases(revivePhases(prevBehavior?.phase_sequence), events.map((e) => ({ event_type: e.event_type ?? '', ts: e.ts })));
  const eventCount = (prev?.event_count ?? 0) + events.length;
  const behaviorClass = classify({
    events: eventCount,
    services: services.size,
    deckies: deckies.length,
    meanIatS: timing.mean_iat_s,
    cv: timing.cv,
    recon: phaseCount(phases, 'reconnaissance'),
    auth: phaseCount(phases, 'credential_access'),
    execution: phaseCount(phases, 'execution'),
  });
  const tools = [...evidenceTools, ...(behaviorClass === 'beaconing' ? cadenceTools(timing.mean_iat_s, timing.cv) : [])].sort().slice(0, MAX_TOOLS);
  const isTraversal = deckies.length >= 2;
  return {
    attacker: {
      ip,
      first_seen: first ?? events[0]?.ts ?? new Date().toISOString(),
      last_seen: last ?? events[0]?.ts ?? new Date().toISOString(),
      event_count: eventCount,
      service_count: services.size,
      decky_count: deckies.length,
      services: [...services].sort(),
      deckies,
      // Rewritten only when it changed: the list is the profile's largest column.
      commands: added > 0 || !prev ? commands : undefined,
      traversal_path: isTraversal ? hops.join(HOP) : null,
      is_traversal: isTraversal,
    },
    behavior: {
      behavior_class: behaviorClass,
      beacon_interval_s: behaviorClass === 'beaconing' ? timing.mean_iat_s : null,
      beacon_jitter_pct: behaviorClass === 'beaconing' && timing.cv !== null ? Number((timing.cv * 100).toFixed(2)) : null,
      tool_guesses: tools,
      timing_stats: timing as unknown as Record<string, unknown>,
      phase_sequence: phases,
      ssh_client_banners: [...banners],
      kex_order_raw: [...kex],
    },
    firstSighting: !prev || prev.event_count === 0,
    behaviorClass,
    toolGuesses: tools,
  };
}
