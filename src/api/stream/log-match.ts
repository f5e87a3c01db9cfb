// The log search language applied to live rows in memory, with the same meaning as the SQL the
// logs list runs (db/logs/search.ts): column terms match exactly, field terms match the event
// field's text exactly, bare words match a substring of the raw line, decky, service or attacker IP
// ignoring case. All terms must match.
import type { SearchTerm } from '../../db/logs/search.ts';

type Row = Record<string, unknown>;

function fieldText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value ? '1' : '0'; // how SQLite's json_extract renders them
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function logMatcher(terms: readonly SearchTerm[]): ((row: Row) => boolean) | undefined {
  if (terms.length === 0) return undefined;
  const checks = terms.map((term): ((row: Row) => boolean) => {
    switch (term.kind) {
      case 'column':
        return (row) => row[term.column] === term.value;
      case 'field':
        return (row) => fieldText((row.fields as Row | undefined)?.[term.key]) === term.value;
      case 'text': {
        const needle = term.value.toLowerCase();
        return (row) => ['raw_line', 'decky', 'service', 'attacker_ip'].some((c) => typeof row[c] === 'string' && (row[c] as string).toLowerCase().includes(needle));
      }
    }
  });
  return (row) => checks.every((c) => c(row));
}
