// Fleet spec: data that says which processes exist, which workers each hosts and each one's memory
// cap (DESIGN §2). Moving a worker between processes is an edit of the spec, never of code.
import { readFileSync } from 'node:fs';
import { parseIni, parseSize, type IniSection } from '../core/ini.ts';
import { ConfigError } from '../core/errors.ts';
import { suggest } from '../cli/args.ts';
import { findWorker, WORKERS, type WorkerEntry } from './registry.ts';
import { DEFAULT_SPEC, DEFAULT_SPEC_SOURCE } from './default-spec.ts';

export const LAYOUTS = ['isolated', 'grouped', 'single'] as const;
export type Layout = (typeof LAYOUTS)[number];

export interface ProcessSpec {
  name: string;
  workers: string[];
  /** systemd MemoryMax= in bytes. */
  memoryMax: number;
  /** --max-old-space-size in MB. */
  oldSpaceMb: number;
}

export interface FleetSpec {
  source: string;
  layout: Layout;
  semiSpaceMb: number;
  /** Processes of the grouped layout, as declared. */
  groups: ProcessSpec[];
  /** Options per worker (ctx.config), already converted to their declared types. */
  workerOptions: Record<string, Record<string, unknown>>;
  /** memory_max per worker for the isolated layout (bytes). */
  workerMemoryMax: Record<string, number>;
}

const DEFAULT_PROCESS_MEMORY = 128 * 1024 * 1024;
const NAME = /^[a-z][a-z0-9-]{0,39}$/;

/** V8's old space gets the cap minus headroom for code, stacks and buffers outside the heap. */
export function oldSpaceFor(memoryMax: number): number {
  return Math.max(16, Math.floor((memoryMax / 1024 / 1024) * 0.75));
}

function fail(source: string, line: number, message: string): never {
  throw new ConfigError(`${source}:${line}: ${message}`);
}

function readSize(source: string, line: number, key: string, value: string): number {
  const size = parseSize(value);
  if (size === undefined || size < 16 * 1024 * 1024) fail(source, line, `${key} must be a size of at least 16M (e.g. 128M, 1G); got ${JSON.stringify(value)}`);
  return size;
}

function workerOption(source: string, entry: WorkerEntry, key: string, value: string, line: number): unknown {
  const option = entry.options?.find((o) => o.name === key);
  if (!option) {
    const known = (entry.options ?? []).map((o) => o.name);
    const hint = suggest(key, [...known, 'memory_max']);
    fail(source, line, `worker ${entry.name} has no option '${key}'${hint ? ` (did you mean ${hint}?)` : known.length ? `; options: ${known.join(', ')}` : ''}`);
  }
  switch (option.type) {
    case 'number': {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n)) fail(source, line, `${key} must be a number; got ${JSON.stringify(value)}`);
      return n;
    }
    case 'boolean':
      if (!['true', 'false'].includes(value)) fail(source, line, `${key} must be true or false; got ${JSON.stringify(value)}`);
      return value === 'true';
    case 'list':
      return value.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      if (option.choices && !option.choices.includes(value)) fail(source, line, `${key} must be one of ${option.choices.join(', ')}`);
      return value;
  }
}

function unknownWorker(source: string, line: number, name: string): never {
  const hint = suggest(name, WORKERS.map((w) => w.name));
  fail(source, line, `unknown worker '${name}'${hint ? ` (did you mean ${hint}?)` : ''}; run \`decnet --help\` for the list`);
}

export function parseFleetSpec(text: string, source: string): FleetSpec {
  const sections: IniSection[] = parseIni(text, source);
  const spec: FleetSpec = { source, layout: 'grouped', semiSpaceMb: 1, groups: [], workerOptions: {}, workerMemoryMax: {} };
  const placed = new Map<string, { process: string; line: number }>();

  for (const section of sections) {
    if (section.name === '') {
      if (section.entries.length) fail(source, section.entries[0].line, 'settings must come after a section header such as [fleet]');
      continue;
    }
    const [kind, name, extra] = section.name.split(' ');
    if (extra !== undefined) fail(source, section.line, `section [${section.name}]: expected [fleet], [process NAME] or [worker NAME]`);
    if (kind === 'fleet' && name === undefined) {
      for (const e of section.entries) {
        if (e.key === 'layout') {
          if (!(LAYOUTS as readonly string[]).includes(e.value)) fail(source, e.line, `layout must be one of ${LAYOUTS.join(', ')}; got ${JSON.stringify(e.value)}`);
          spec.layout = e.value as Layout;
        } else if (e.key === 'semi_space') {
          const n = Number(e.value);
          if (!Number.isInteger(n) || n < 1 || n > 64) fail(source, e.line, `semi_space must be a whole number of MB from 1 to 64; got ${JSON.stringify(e.value)}`);
          spec.semiSpaceMb = n;
        } else fail(source, e.line, `unknown key '${e.key}' in [fleet] (known: layout, semi_space)`);
      }
    } else if (kind === 'process' && name !== undefined) {
      if (!NAME.test(name)) fail(source, section.line, `process name '${name}' must be lowercase letters, digits and '-'`);
      const proc: ProcessSpec = { name, workers: [], memoryMax: DEFAULT_PROCESS_MEMORY, oldSpaceMb: 0 };
      let hasWorkers = false;
      for (const e of section.entries) {
        if (e.key === 'workers') {
          hasWorkers = true;
          for (const w of e.value.split(',').map((s) => s.trim()).filter(Boolean)) {
            if (!findWorker(w)) unknownWorker(source, e.line, w);
            const prior = placed.get(w);
            if (prior) fail(source, e.line, `worker '${w}' is already hosted by process '${prior.process}' (line ${prior.line})`);
            placed.set(w, { process: name, line: e.line });
            proc.workers.push(w);
          }
        } else if (e.key === 'memory_max') proc.memoryMax = readSize(source, e.line, e.key, e.value);
        else if (e.key === 'old_space') {
          const n = Number(e.value);
          if (!Number.isInteger(n) || n < 8) fail(source, e.line, `old_space must be a whole number of MB (at least 8); got ${JSON.stringify(e.value)}`);
          proc.oldSpaceMb = n;
        } else fail(source, e.line, `unknown key '${e.key}' in [process ${name}] (known: workers, memory_max, old_space)`);
      }
      if (!hasWorkers || proc.workers.length === 0) fail(source, section.line, `[process ${name}] lists no workers (add 'workers = a, b')`);
      if (proc.oldSpaceMb === 0) proc.oldSpaceMb = oldSpaceFor(proc.memoryMax);
      spec.groups.push(proc);
    } else if (kind === 'worker' && name !== undefined) {
      const entry = findWorker(name);
      if (!entry) unknownWorker(source, section.line, name);
      const options: Record<string, unknown> = {};
      for (const e of section.entries) {
        if (e.key === 'memory_max') spec.workerMemoryMax[name] = readSize(source, e.line, e.key, e.value);
        else options[e.key] = workerOption(source, entry, e.key, e.value, e.line);
      }
      spec.workerOptions[name] = options;
    } else {
      fail(source, section.line, `section [${section.name}]: expected [fleet], [process NAME] or [worker NAME]`);
    }
  }
  if (spec.groups.length === 0) throw new ConfigError(`${source}: the spec declares no [process NAME] sections`);
  const names = new Set<string>();
  for (const g of spec.groups) {
    if (names.has(g.name)) throw new ConfigError(`${source}: process '${g.name}' is declared twice`);
    names.add(g.name);
  }
  return spec;
}

export function loadFleetSpec(file?: string): FleetSpec {
  if (!file) return parseFleetSpec(DEFAULT_SPEC, DEFAULT_SPEC_SOURCE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read fleet spec ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseFleetSpec(text, file);
}

/** The processes a layout runs. */
export function resolveProcesses(spec: FleetSpec, layout: Layout = spec.layout): ProcessSpec[] {
  if (layout === 'grouped') return spec.groups.map((g) => ({ ...g, workers: [...g.workers] }));
  if (layout === 'isolated') {
    return spec.groups.flatMap((g) =>
      g.workers.map((w) => {
        const memoryMax = spec.workerMemoryMax[w] ?? g.memoryMax;
        return { name: w, workers: [w], memoryMax, oldSpaceMb: oldSpaceFor(memoryMax) };
      }),
    );
  }
  const memoryMax = spec.groups.reduce((sum, g) => sum + g.memoryMax, 0);
  return [{ name: 'fleet', workers: spec.groups.flatMap((g) => g.workers), memoryMax, oldSpaceMb: oldSpaceFor(memoryMax) }];
}

export function findProcess(spec: FleetSpec, layout: Layout, name: string): ProcessSpec {
  const processes = resolveProcesses(spec, layout);
  const found = processes.find((p) => p.name === name);
  if (!found) {
    const hint = suggest(name, processes.map((p) => p.name));
    throw new ConfigError(`unknown group '${name}' in the ${layout} layout of ${spec.source}${hint ? ` (did you mean ${hint}?)` : ''}; groups: ${processes.map((p) => p.name).join(', ')}`);
  }
  return found;
}
