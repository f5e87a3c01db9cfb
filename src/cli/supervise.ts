// `decnet supervise <group>`: one process hosting a group of the fleet spec.
import type { ParsedArgs } from './args.ts';
import { findProcess, loadFleetSpec, type Layout } from '../fleet/spec.ts';
import { loadHostedWorkers } from '../fleet/load-workers.ts';
import { runHostProcess } from '../fleet/host.ts';

export default async function supervise(args: ParsedArgs): Promise<number> {
  const spec = loadFleetSpec(args.options.fleet as string | undefined);
  const layout = (args.options.layout as Layout | undefined) ?? spec.layout;
  const proc = findProcess(spec, layout, args.positionals[0]);
  const { workers, providesBus } = await loadHostedWorkers(proc.workers, spec.workerOptions);
  return runHostProcess({ name: proc.name, workers, busUrl: providesBus ? 'local:' : undefined });
}
