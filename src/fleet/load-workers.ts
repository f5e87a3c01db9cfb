// Turns worker names into hosted workers: loads each definition (only those named) and its options.
import { DecnetError } from '../core/errors.ts';
import { findWorker } from './registry.ts';
import type { HostedWorker } from './host.ts';

export async function loadHostedWorkers(names: string[], configs: Record<string, Record<string, unknown>>): Promise<{ workers: HostedWorker[]; providesBus: boolean }> {
  const entries = names.map((name) => {
    const entry = findWorker(name);
    if (!entry) throw new DecnetError(`unknown worker '${name}'`, 2);
    return entry;
  });
  const defs = await Promise.all(entries.map((e) => e.load()));
  const workers = defs.map((def, i) => {
    const defaults: Record<string, unknown> = {};
    for (const o of entries[i].options ?? []) if (o.default !== undefined) defaults[o.name] = o.default;
    return { def, config: { ...defaults, ...(configs[def.name] ?? {}) } };
  });
  return { workers, providesBus: entries.some((e) => e.providesBus) };
}
