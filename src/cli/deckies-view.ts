// Renders deckies (planned or live) as an aligned table, shared by `decnet deploy` and `decnet status`.
import type { DeckyDescription } from '../deploy/describe.ts';
import { colour, renderTable } from './table.ts';

function stateText(s: DeckyDescription['state']): string {
  if (s === 'up') return colour.green(s);
  if (s === 'partial' || s === 'starting') return colour.yellow(s);
  if (s === 'down') return colour.red(s);
  return colour.dim(s);
}

export function renderDeckies(deckies: readonly DeckyDescription[], opts: { state?: boolean } = {}): string {
  const headers = ['DECKY', 'IP', 'HOSTNAME', 'PERSONA', 'SERVICES'];
  if (opts.state) headers.push('STATE');
  const rows = deckies.map((d) => {
    const row = [d.name, d.ip, d.hostname, `${d.archetype} (${d.distro})`, d.services.map((s) => `${s.name}:${s.ports.map((p) => p.replace('/tcp', '')).join(',')}`).join(' ')];
    if (opts.state) row.push(stateText(d.state));
    return row;
  });
  let out = renderTable(headers, rows);
  const problems = deckies.flatMap((d) => d.problems.map((p) => `  ${d.name} ${p.service} port ${p.port}: ${p.error}${p.hint ? `\n    hint: ${p.hint}` : ''}`));
  if (problems.length > 0) out += `\n${colour.yellow('Listeners that failed:')}\n${problems.join('\n')}\n`;
  return out;
}
