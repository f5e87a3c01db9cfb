// `decnet attackers`: the attacker profiles, one row per source IP, with the behaviour class and
// tool guesses the profiler derived.
import type { ParsedArgs } from '../args.ts';
import { UsageError } from '../../core/errors.ts';
import { openDatabase } from '../../db/connection.ts';
import { getBehaviors, listAttackers, type AttackerSort } from '../../db/attackers/repo.ts';
import { renderTable } from '../table.ts';
import { safeText, shortTime } from './safe-text.ts';

export function limitOption(args: ParsedArgs, fallback: number, max = 1000): number {
  const raw = args.options.limit ?? fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--limit must be a whole number from 1 to ${max}; got ${JSON.stringify(raw)}`);
  return n;
}

export default async function attackers(args: ParsedArgs): Promise<number> {
  const limit = limitOption(args, 20);
  const db = await openDatabase();
  try {
    const page = await listAttackers(db, {
      limit,
      sort_by: (args.options.sort as AttackerSort | undefined) ?? 'recent',
      search: (args.options.search as string | undefined) ?? null,
      service: (args.options.service as string | undefined) ?? null,
    });
    const behaviors = await getBehaviors(db, page.data.map((a) => a.uuid));
    if (args.options.json) {
      const data = page.data.map((a) => ({ ...a, behavior: behaviors.get(a.uuid) ?? null }));
      process.stdout.write(JSON.stringify({ ...page, data }, null, 2) + '\n');
      return 0;
    }
    if (page.total === 0) {
      process.stdout.write('no attackers recorded yet\n');
      return 0;
    }
    const rows = page.data.map((a) => {
      const b = behaviors.get(a.uuid);
      return [
        a.ip,
        shortTime(a.first_seen),
        shortTime(a.last_seen),
        String(a.event_count),
        String(a.credential_count),
        b?.behavior_class ?? '-',
        safeText((b?.tool_guesses ?? []).join(',') || '-', 28),
        safeText(a.is_traversal && a.traversal_path ? a.traversal_path : a.deckies.join(','), 40),
        safeText(a.services.join(','), 30),
      ];
    });
    process.stdout.write(renderTable(['IP', 'FIRST SEEN', 'LAST SEEN', 'EVENTS', 'CREDS', 'CLASS', 'TOOLS', 'DECKIES', 'SERVICES'], rows, [3, 4]));
    if (page.total > page.data.length) process.stdout.write(`${page.data.length} of ${page.total} attackers (--limit to see more)\n`);
    return 0;
  } finally {
    await db.close();
  }
}
