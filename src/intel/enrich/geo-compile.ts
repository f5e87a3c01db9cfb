// `decnet geo-compile TABLE CSV OUT` (hidden): parses one ip-location-db CSV and writes its
// compiled table file. The enrich worker runs it as a child process, so the parse's transient
// memory (tens of MB) is returned to the system when the child exits instead of lingering in the
// long-running herd process.
import type { ParsedArgs } from '../../cli/args.ts';
import { UsageError } from '../../core/errors.ts';

export const TABLES = ['country4', 'country6', 'asn4', 'asn6'] as const;

export async function compileTable(name: (typeof TABLES)[number], csv: string, out: string): Promise<void> {
  const { loadCountry, loadAsn } = await import('./geo-csv.ts');
  const { writeTableFile } = await import('./geo-file.ts');
  const family = name.endsWith('6') ? 6 : 4;
  const table = name.startsWith('country') ? await loadCountry(csv, family) : await loadAsn(csv, family);
  writeTableFile(table, out);
}

export default async function geoCompile(args: ParsedArgs): Promise<number> {
  const [name, csv, out] = args.positionals;
  if (!(TABLES as readonly string[]).includes(name ?? '')) throw new UsageError(`decnet geo-compile: TABLE must be one of ${TABLES.join(', ')}`);
  await compileTable(name as (typeof TABLES)[number], csv!, out!);
  return 0;
}
