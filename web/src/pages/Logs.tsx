// The event log with the search syntax. The query is checked by the API; a mistake comes back
// with a detail that says what to fix, shown under the box. "Follow" re-reads the first page every
// few seconds, with exactly the same filter as the list.
import { useEffect, useState } from 'preact/hooks';
import { useFetch } from '../lib/hooks.ts';
import { setQuery, useLocation } from '../lib/router.ts';
import { count } from '../lib/format.ts';
import { EventTable } from '../components/EventTable.tsx';
import { Card, Empty, ErrorBox, PageTitle, Pager } from '../components/ui.tsx';
import type { Page } from '../lib/api.ts';
import type { LogRow } from '../lib/types.ts';

const LIMIT = 100;
const RANGES: [string, string, number][] = [
  ['15m', 'last 15 min', 15 * 60_000],
  ['1h', 'last hour', 3_600_000],
  ['24h', 'last 24 h', 86_400_000],
  ['7d', 'last 7 days', 7 * 86_400_000],
  ['all', 'all time', 0],
];

function startOf(range: string): string | undefined {
  const ms = RANGES.find(([k]) => k === range)?.[2];
  if (!ms) return undefined;
  // Rounded to the minute, so the query (and the API's cache key) holds still between re-reads.
  return new Date(Math.floor((Date.now() - ms) / 60_000) * 60_000).toISOString();
}

export function LogsPage() {
  const { query } = useLocation();
  const search = query.get('q') ?? '';
  const range = query.get('range') ?? 'all';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const follow = query.get('follow') === '1' && offset === 0;
  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);
  const { data: last, error, loading } = useFetch<Page<LogRow>>('/logs', { query: { limit: LIMIT, offset, search, start_time: startOf(range) }, refreshMs: follow ? 3_000 : undefined });
  // A rejected query must not leave the previous query's rows on screen as if they matched.
  const data = error ? undefined : last;

  return (
    <>
      <PageTitle title="Logs" />
      <Card>
        <form
          class="search-form"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ q: draft.trim(), offset: null }, { push: true });
          }}
        >
          <input
            type="search"
            class="mono grow"
            name="q"
            aria-label="log search"
            placeholder='service:ssh event:auth_attempt username:root "wget http"'
            maxLength={512}
            value={draft}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
          <select aria-label="time range" value={range} onChange={(e) => setQuery({ range: e.currentTarget.value === 'all' ? null : e.currentTarget.value, offset: null })}>
            {RANGES.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
          <label class="check">
            <input type="checkbox" checked={follow} disabled={offset !== 0} onChange={(e) => setQuery({ follow: e.currentTarget.checked ? '1' : null })} /> follow
          </label>
          <button type="submit" class="primary">
            Search
          </button>
        </form>
        <details class="help">
          <summary>Search syntax</summary>
          <ul>
            <li>
              Terms are separated by spaces; every term must match.
            </li>
            <li>
              <code>decky:NAME</code> <code>service:ssh</code> <code>event:auth_attempt</code> <code>attacker:203.0.113.7</code> match those columns exactly.
            </li>
            <li>
              Any other <code>key:value</code> matches that event field exactly, e.g. <code>username:root</code>.
            </li>
            <li>
              A bare word or <code>"quoted text"</code> matches part of the raw line, decky, service or address.
            </li>
          </ul>
        </details>
        <ErrorBox error={error} what="the log" />
        {data && (
          <p class="muted small">
            {count(data.total)} event{data.total === 1 ? '' : 's'}
            {search ? ' match' : ''}
            {follow ? ' · following' : ''}
          </p>
        )}
        {data && data.data.length === 0 && <Empty>No events match.</Empty>}
        {data && data.data.length > 0 && (
          <div class={loading && !follow ? 'busy' : ''}>
            <EventTable rows={data.data} fullDate live={follow} label="log events" />
          </div>
        )}
        {data && <Pager total={data.total} limit={data.limit} offset={data.offset} onOffset={(o) => setQuery({ offset: o || null }, { push: true })} />}
      </Card>
    </>
  );
}
