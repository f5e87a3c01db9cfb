// `decnet <worker>`: a process that hosts exactly one worker.
import type { ParsedArgs } from '../cli/args.ts';
import { loadHostedWorkers } from './load-workers.ts';
import { runHostProcess } from './host.ts';

export async function runStandaloneCommand(worker: string, args: ParsedArgs): Promise<number> {
  const options: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args.options)) if (v !== undefined) options[k] = v;
  const { workers, providesBus } = await loadHostedWorkers([worker], { [worker]: options });
  return runHostProcess({ name: worker, workers, busUrl: providesBus ? 'local:' : undefined });
}
