// Captured credentials (one row per attacker, decky, service, user and secret) and the findings of
// the reuse correlator: the same secret tried on several targets.
import { useEffect, useState } from 'preact/hooks';
import { useFetch } from '../lib/hooks.ts';
import { setQuery, useLocation } from '../lib/router.ts';
import { ago, count, dateTime } from '../lib/format.ts';
import { Badge, Card, Empty, ErrorBox, PageTitle, Pager, attackerHref } from '../components/ui.tsx';
import type { Page } from '../lib/api.ts';
import type { Credential, ReuseRow } from '../lib/types.ts';

const LIMIT = 50;

function CapturedTable({ search, service, offset }: { search: string; service: string; offset: number }) {
  const { data, error, loading } = useFetch<Page<Credential>>('/credentials', { query: { limit: LIMIT, offset, search, service }, refreshMs: 15_000 });
  const now = Date.now();
  return (
    <Card>
      <ErrorBox error={error} what="credentials" />
      {data && data.data.length === 0 && <Empty>{search || service ? 'Nothing matches these filters.' : 'No credentials captured yet.'}</Empty>}
      {data && data.data.length > 0 && (
        <div class={loading ? 'table-wrap busy' : 'table-wrap'}>
          <table aria-label="credentials">
            <thead>
              <tr>
                <th>Attacker</th>
                <th>Target</th>
                <th>User</th>
                <th>Secret</th>
                <th>Outcome</th>
                <th class="num">Tries</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {data.data.map((c) => (
                <tr key={c.id}>
                  <td class="mono nowrap">
                    <a href={c.attacker_uuid ? `/attackers/${c.attacker_uuid}` : attackerHref(c.attacker_ip)}>{c.attacker_ip}</a>
                  </td>
                  <td class="small nowrap">
                    {c.service}@{c.decky_name}
                  </td>
                  <td class="mono">{c.principal ?? <span class="muted">—</span>}</td>
                  <td class="mono secret" title={`${c.secret_kind} sha256 ${c.secret_sha256}`}>
                    {c.secret_printable ?? <span class="muted">{c.secret_kind} (binary)</span>}
                  </td>
                  <td>
                    <Badge kind={c.outcome === 'success' ? 'bad' : ''}>{c.outcome}</Badge>
                  </td>
                  <td class="num">{count(c.attempt_count)}</td>
                  <td class="small nowrap" title={dateTime(c.last_seen)}>
                    {ago(c.last_seen, now)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && <Pager total={data.total} limit={data.limit} offset={data.offset} onOffset={(o) => setQuery({ offset: o || null }, { push: true })} />}
    </Card>
  );
}

function ReuseTable({ offset }: { offset: number }) {
  const { data, error } = useFetch<Page<ReuseRow>>('/credential-reuse', { query: { limit: LIMIT, offset }, refreshMs: 30_000 });
  return (
    <Card>
      <ErrorBox error={error} what="reuse findings" />
      {data && data.data.length === 0 && <Empty>No secret has been tried on more than one target yet.</Empty>}
      {data && data.data.length > 0 && (
        <div class="table-wrap">
          <table aria-label="credential reuse">
            <thead>
              <tr>
                <th>User</th>
                <th>Secret</th>
                <th class="num">Targets</th>
                <th>Services</th>
                <th>Attackers</th>
                <th class="num">Tries</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {data.data.map((r) => (
                <tr key={r.id}>
                  <td class="mono">{r.principal ?? '—'}</td>
                  <td class="mono small" title={r.secret_sha256}>
                    {r.secret_kind} {r.secret_sha256.slice(0, 12)}…
                  </td>
                  <td class="num">{count(r.target_count)}</td>
                  <td class="small">{r.services.join(', ')}</td>
                  <td class="small mono">
                    {r.attacker_ips.slice(0, 5).map((ip) => (
                      <a key={ip} href={attackerHref(ip)} class="chip">
                        {ip}
                      </a>
                    ))}
                    {r.attacker_ips.length > 5 && <span class="muted"> +{r.attacker_ips.length - 5}</span>}
                  </td>
                  <td class="num">{count(r.attempt_count)}</td>
                  <td class="small nowrap">{ago(r.last_seen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && <Pager total={data.total} limit={data.limit} offset={data.offset} onOffset={(o) => setQuery({ offset: o || null }, { push: true })} />}
    </Card>
  );
}

export function CredentialsPage() {
  const { query } = useLocation();
  const tab = query.get('tab') === 'reuse' ? 'reuse' : 'captured';
  const search = query.get('q') ?? '';
  const service = query.get('service') ?? '';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  const [draft, setDraft] = useState(search);
  useEffect(() => setDraft(search), [search]);
  return (
    <>
      <PageTitle title="Credentials">
        <div class="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={tab === 'captured'} class={tab === 'captured' ? 'active' : ''} onClick={() => setQuery({ tab: null, offset: null }, { push: true })}>
            Captured
          </button>
          <button type="button" role="tab" aria-selected={tab === 'reuse'} class={tab === 'reuse' ? 'active' : ''} onClick={() => setQuery({ tab: 'reuse', offset: null }, { push: true })}>
            Reuse
          </button>
        </div>
        {tab === 'captured' && (
          <form
            class="filters"
            onSubmit={(e) => {
              e.preventDefault();
              setQuery({ q: draft.trim(), offset: null }, { push: true });
            }}
          >
            <input type="search" placeholder="user, secret, decky, address" aria-label="search credentials" maxLength={256} value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
            <input type="text" placeholder="service" aria-label="service filter" maxLength={64} value={service} onChange={(e) => setQuery({ service: e.currentTarget.value.trim().toLowerCase(), offset: null })} />
            <button type="submit">Search</button>
          </form>
        )}
      </PageTitle>
      {tab === 'captured' ? <CapturedTable search={search} service={service} offset={offset} /> : <ReuseTable offset={offset} />}
    </>
  );
}
