// Attacker profiles: searchable, sortable, paged. The filters live in the URL, so a view can be
// bookmarked and the back button works.
import { useEffect, useState } from 'preact/hooks';
import { useFetch } from '../lib/hooks.ts';
import { setQuery, useLocation } from '../lib/router.ts';
import { ago, count } from '../lib/format.ts';
import { Badge, Card, Empty, ErrorBox, PageTitle, Pager } from '../components/ui.tsx';
import type { Page } from '../lib/api.ts';
import type { Attacker } from '../lib/types.ts';

const LIMIT = 50;

export function AttackersPage() {
  const { query } = useLocation();
  const search = query.get('q') ?? '';
  const sort = query.get('sort') ?? 'recent';
  const service = query.get('service') ?? '';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);
  const { data, error, loading } = useFetch<Page<Attacker>>('/attackers', { query: { limit: LIMIT, offset, search, sort_by: sort, service }, refreshMs: 15_000 });
  const now = Date.now();

  return (
    <>
      <PageTitle title="Attackers">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ q: draft.trim(), offset: null }, { push: true });
          }}
        >
          <input type="search" placeholder="address, PTR, AS, country" aria-label="search attackers" value={draft} maxLength={256} onInput={(e) => setDraft(e.currentTarget.value)} />
          <input type="text" placeholder="service" aria-label="service filter" value={service} maxLength={64} onChange={(e) => setQuery({ service: e.currentTarget.value.trim().toLowerCase(), offset: null })} />
          <select aria-label="sort" value={sort} onChange={(e) => setQuery({ sort: e.currentTarget.value, offset: null })}>
            <option value="recent">last seen</option>
            <option value="active">most events</option>
            <option value="traversals">multi-decky paths</option>
          </select>
          <button type="submit">Search</button>
        </form>
      </PageTitle>
      <Card>
        <ErrorBox error={error} what="attackers" />
        {data && data.data.length === 0 && <Empty>{search || service ? 'No attacker matches these filters.' : 'No attacker profiles yet.'}</Empty>}
        {data && data.data.length > 0 && (
          <div class={loading ? 'table-wrap busy' : 'table-wrap'}>
            <table aria-label="attackers">
              <thead>
                <tr>
                  <th>Address</th>
                  <th>Where</th>
                  <th class="num">Events</th>
                  <th>Services</th>
                  <th class="num">Deckies</th>
                  <th class="num">Creds</th>
                  <th>First seen</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {data.data.map((a) => (
                  <tr key={a.uuid}>
                    <td class="mono nowrap">
                      <a href={`/attackers/${a.uuid}`}>{a.ip}</a>
                      {a.is_traversal && (
                        <Badge kind="warn" title="moved between deckies">
                          path
                        </Badge>
                      )}
                    </td>
                    <td class="small">
                      {[a.country_code, a.asn ? `AS${a.asn}` : null, a.as_name].filter(Boolean).join(' · ') || <span class="muted">—</span>}
                      {a.ptr_record && <div class="muted mono">{a.ptr_record}</div>}
                    </td>
                    <td class="num">{count(a.event_count)}</td>
                    <td class="small">{a.services.join(', ')}</td>
                    <td class="num">{count(a.decky_count)}</td>
                    <td class="num">{count(a.credential_count)}</td>
                    <td class="nowrap small">{ago(a.first_seen, now)}</td>
                    <td class="nowrap small">{ago(a.last_seen, now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && <Pager total={data.total} limit={data.limit} offset={data.offset} onOffset={(o) => setQuery({ offset: o || null }, { push: true })} />}
      </Card>
    </>
  );
}
