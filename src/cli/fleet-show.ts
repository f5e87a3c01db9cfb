// `decnet fleet`: validates a fleet spec and shows the processes of a layout.
import type { ParsedArgs } from './args.ts';
import { loadFleetSpec, resolveProcesses, type Layout } from '../fleet/spec.ts';
import { renderTable } from './table.ts';
import { formatKiB } from '../fleet/memory.ts';

export default async function fleetShow(args: ParsedArgs): Promise<number> {
  const spec = loadFleetSpec(args.options.fleet as string | undefined);
  const layout = (args.options.layout as Layout | undefined) ?? spec.layout;
  const processes = resolveProcesses(spec, layout);
  if (args.options.json) {
    process.stdout.write(JSON.stringify({ source: spec.source, layout, processes: processes.map((p) => ({ name: p.name, workers: p.workers, memory_max: p.memoryMax, old_space_mb: p.oldSpaceMb })) }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`${spec.source}: valid; layout ${layout}, ${processes.length} process(es)\n\n`);
  process.stdout.write(renderTable(['PROCESS', 'MEMORY_MAX', 'OLD_SPACE', 'WORKERS'], processes.map((p) => [p.name, formatKiB(p.memoryMax / 1024), `${p.oldSpaceMb} MB`, p.workers.join(', ')]), [1, 2]));
  return 0;
}
