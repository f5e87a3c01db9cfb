// The ATT&CK matrix of what the fleet observed: tactics as columns, each technique tagged at least
// once as a cell, shaded by how often. Techniques the rule set can detect but has not seen are
// listed dimmed when the API describes its rules, so an empty column reads as "nothing seen", not
// "nothing watched".
import { useState } from 'preact/hooks';
import { useFetch } from '../lib/hooks.ts';
import { count, ago } from '../lib/format.ts';
import { TACTICS, mitreUrl, tacticId, techniqueLabel } from '../lib/attack.ts';
import { Card, Empty, ErrorBox, Loading, PageTitle } from '../components/ui.tsx';
import type { TechniqueRow } from '../lib/types.ts';

interface RuleInfo {
  technique_id?: string;
  technique?: string;
  technique_name?: string | null;
  tactic?: string | null;
  tactics?: string[] | null;
  state?: string;
}

interface Cell {
  id: string;
  name: string;
  count: number;
  attackers?: number;
  last_seen?: string;
  observed: boolean;
}

function buildColumns(observed: TechniqueRow[], rules: RuleInfo[], withUnseen: boolean): Map<string, Cell[]> {
  const columns = new Map<string, Cell[]>(TACTICS.map(([id]) => [id, []]));
  const placed = new Set<string>();
  const put = (tactic: string, cell: Cell) => {
    const key = `${tactic}/${cell.id}`;
    if (placed.has(key)) return;
    placed.add(key);
    if (!columns.has(tactic)) columns.set(tactic, []);
    columns.get(tactic)!.push(cell);
  };
  // A technique belongs to every tactic the rules (ATT&CK) give it, not only to the one its tags name.
  const ruleTactics = new Map<string, string[]>();
  for (const r of rules) {
    const id = r.technique_id ?? r.technique;
    const tactics = r.tactics?.length ? r.tactics : r.tactic ? [r.tactic] : [];
    if (id) ruleTactics.set(id, [...new Set([...(ruleTactics.get(id) ?? []), ...tactics.map(tacticId)])]);
  }
  for (const t of observed) {
    const id = t.sub_technique_id ?? t.technique_id;
    const tactics = new Set([...(t.tactics?.length ? t.tactics : [t.tactic ?? 'unknown']).map(tacticId), ...(ruleTactics.get(id) ?? [])]);
    for (const tactic of tactics) put(tactic, { id, name: techniqueLabel(t), count: t.count, attackers: t.attackers, last_seen: t.last_seen, observed: true });
  }
  if (withUnseen) {
    const seen = new Set(observed.map((t) => t.sub_technique_id ?? t.technique_id));
    for (const r of rules) {
      const id = r.technique_id ?? r.technique;
      if (!id || seen.has(id) || r.state === 'disabled') continue;
      const tactics = r.tactics?.length ? r.tactics : r.tactic ? [r.tactic] : [];
      for (const tactic of tactics) put(tacticId(tactic), { id, name: r.technique_name ?? '', count: 0, observed: false });
    }
  }
  for (const cells of columns.values()) cells.sort((a, b) => b.count - a.count || a.id.localeCompare(b.id));
  return columns;
}

export function AttackPage() {
  const { data, error } = useFetch<TechniqueRow[]>('/ttp/techniques', { refreshMs: 30_000 });
  const rules = useFetch<{ rules: RuleInfo[] }>('/ttp/rules');
  const [withUnseen, setWithUnseen] = useState(true);
  const ruleRows = rules.data?.rules ?? [];
  const canShowUnseen = ruleRows.some((r) => (r.technique_id ?? r.technique) && (r.tactics?.length || r.tactic));
  const observed = data ?? [];
  const columns = buildColumns(observed, ruleRows, withUnseen && canShowUnseen);
  const max = Math.max(1, ...observed.map((t) => t.count));
  const names = new Map<string, string>(TACTICS);
  // With only the observed techniques, empty tactics are left out so the matrix fits the screen.
  const showAll = withUnseen && canShowUnseen;
  const shown = [...columns.entries()].filter(([tactic, cells]) => cells.length > 0 || (showAll && names.has(tactic)));

  return (
    <>
      <PageTitle title="ATT&CK matrix">
        {canShowUnseen && (
          <label class="check">
            <input type="checkbox" checked={withUnseen} onChange={(e) => setWithUnseen(e.currentTarget.checked)} /> also techniques the rules watch for
          </label>
        )}
      </PageTitle>
      <ErrorBox error={error} what="the technique summary" />
      {!data && !error && <Loading />}
      {data && (
        <Card>
          <p class="muted small">
            {count(observed.length)} technique{observed.length === 1 ? '' : 's'} observed, {count(observed.reduce((s, t) => s + t.count, 0))} tags in total. Darker cells were seen more often.
          </p>
          {observed.length === 0 && <Empty>No technique observed yet. Tags appear once attackers interact with the deckies.</Empty>}
          <div class="matrix" aria-label="ATT&CK matrix">
            {shown.map(([tactic, cells]) => (
              <section class="tactic" key={tactic} aria-label={names.get(tactic) ?? tactic}>
                <h3>
                  {names.get(tactic) ?? tactic}
                  <span class="muted small"> {cells.filter((c) => c.observed).length || ''}</span>
                </h3>
                {cells.map((c) => (
                  <a
                    key={c.id}
                    class={c.observed ? 'technique seen' : 'technique'}
                    style={c.observed ? { '--heat': String(0.25 + 0.75 * (Math.log1p(c.count) / Math.log1p(max))) } : undefined}
                    href={mitreUrl(c.id)}
                    target="_blank"
                    rel="noopener noreferrer"
                    title={c.observed ? `${c.id} ${c.name}: ${c.count} tags${c.attackers ? `, ${c.attackers} attackers` : ''}, last ${ago(c.last_seen)}` : `${c.id} ${c.name}: not observed`}
                  >
                    <span class="mono">{c.id}</span>
                    {c.name && <span class="tname">{c.name}</span>}
                    {c.observed && <span class="tcount">{count(c.count)}</span>}
                  </a>
                ))}
              </section>
            ))}
          </div>
        </Card>
      )}
    </>
  );
}
