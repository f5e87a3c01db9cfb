// Aligned text tables for people; colour only on a TTY (and never with NO_COLOR).

export const useColour = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR;

const paint = (code: string) => (s: string) => (useColour() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const colour = { bold: paint('1'), dim: paint('2'), red: paint('31'), green: paint('32'), yellow: paint('33') };

const visibleLength = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** Renders rows under headers; columns listed in `right` are right-aligned (numbers). */
export function renderTable(headers: string[], rows: string[][], right: number[] = []): string {
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const pad = (cell: string, i: number) => {
    const gap = ' '.repeat(Math.max(0, widths[i] - visibleLength(cell)));
    return right.includes(i) ? gap + cell : cell + gap;
  };
  const line = (cells: string[]) => cells.map(pad).join('  ').trimEnd();
  return [colour.bold(line(headers)), ...rows.map(line)].join('\n') + '\n';
}

export function formatAge(ms: number): string {
  if (ms < 0) return '-';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
