// The overview: headline numbers, events per minute, the live feed, and the top attackers,
// credentials and techniques. The feed and the chart follow the stream; the aggregates (computed by
// the API) are fetched again a few seconds after the stream announces a change, and on a slow timer.
import { useEffect, useState } from 'preact/hooks';
import { feed, FEED_ROWS } from '../lib/feed.ts';
import { useFetch, useNow, useStreamVersion } from '../lib/hooks.ts';
import { count, ago } from '../lib/format.ts';
import { MinuteChart } from '../components/MinuteChart.tsx';
import { EventTable } from '../components/EventTable.tsx';
import { Card, Empty, ErrorBox, PageTitle, Stat } from '../components/ui.tsx';
import { techniqueLabel } from '../lib/attack.ts';
import type { Attacker, Credential, Stats, TechniqueRow } from '../lib/types.ts';
import type { Page } from '../lib/api.ts';

// What makes each aggregate change. It is fetched again a moment after such an event: later than
// the API's cache of that aggregate lives (5 s for stats and techniques), so the answer includes it.
const ATTACKER_EVENTS = ['attacker'] as const;
const CREDENTIAL_EVENTS = ['credential'] as const;
const TTP_EVENTS = ['ttp'] as const;
const LOG_EVENTS = ['log'] as const;

function useFeed(): number {
  const [version, setVersion] = useState(feed.version);
  useEffect(() => feed.subscribe(() => setVersion(feed.version)), []);
  return version;
}

function LiveFeed() {
  useFeed();
  useNow(5000); // keep the chart's window moving when nothing arrives
  return (
    <>
      <Card title="Events per minute" class="span-2">
        <MinuteChart points={feed.perMinute()} />
      </Card>
      <Card title="Live feed" class="span-2 feed" actions={<span class="muted small">newest {FEED_ROWS} · <a href="/logs">search the log</a></span>}>
        {feed.rows.length === 0 ? <Empty>No events yet. They appear here the moment a decky is touched.</Empty> : <EventTable rows={feed.rows} live label="live feed" />}
      </Card>
    </>
  );
}

function TopAttackers() {
  const version = useStreamVersion(ATTACKER_EVENTS, 2000);
  const { data, error } = useFetch<Page<Attacker>>('/attackers', { query: { sort_by: 'active', limit: 8 }, refreshMs: 15_000, version });
  const now = Date.now();
  const max = Math.max(1, ...(data?.data ?? []).map((a) => a.event_count));
  return (
    <Card title="Top attackers" actions={<a href="/attackers" class="small">all</a>}>
      <ErrorBox error={error} what="attackers" />
      {data && data.data.length === 0 && <Empty>No attacker profiles yet.</Empty>}
      <ol class="toplist">
        {data?.data.map((a) => (
          <li key={a.uuid}>
            <a href={`/attackers/${a.uuid}`} class="mono">
              {a.ip}
            </a>
            <span class="muted small">
              {a.country_code ?? ''} {a.services.slice(0, 3).join(', ')} · {ago(a.last_seen, now)}
            </span>
            <span class="bar-cell">
              <span class="bar-fill" style={{ width: `${(a.event_count / max) * 100}%` }} />
              <span class="bar-num">{count(a.event_count)}</span>
            </span>
          </li>
        ))}
      </ol>
    </Card>
  );
}

interface CredentialGroup {
  principal: string;
  secret: string;
  attempts: number;
  attackers: Set<string>;
  services: Set<string>;
}

/** Credentials grouped by (user, secret) over the latest captures, most attempted first. */
function TopCredentials() {
  const SAMPLE = 1000;
  const version = useStreamVersion(CREDENTIAL_EVENTS, 3000);
  const { data, error } = useFetch<Page<Credential>>('/credentials', { query: { limit: SAMPLE }, refreshMs: 30_000, version });
  const groups = new Map<string, CredentialGroup>();
  for (const c of data?.data ?? []) {
    const secret = c.secret_printable ?? `${c.secret_kind} ${c.secret_sha256.slice(0, 12)}…`;
    const key = `${c.principal ?? ''}\u0000${c.secret_sha256}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { principal: c.principal ?? '', secret, attempts: 0, attackers: new Set(), services: new Set() }));
    g.attempts += c.attempt_count;
    g.attackers.add(c.attacker_ip);
    g.services.add(c.service);
  }
  const top = [...groups.values()].sort((a, b) => b.attempts - a.attempts || b.attackers.size - a.attackers.size).slice(0, 8);
  return (
    <Card title="Top credentials" actions={<a href="/credentials" class="small">all</a>}>
      <ErrorBox error={error} what="credentials" />
      {data && top.length === 0 && <Empty>No credentials captured yet.</Empty>}
      {top.length > 0 && (
        <table class="compact">
          <thead>
            <tr>
              <th>User</th>
              <th>Secret</th>
              <th class="num">Tries</th>
              <th class="num">IPs</th>
            </tr>
          </thead>
          <tbody>
            {top.map((g) => (
              <tr key={g.principal + g.secret}>
                <td class="mono">{g.principal || <span class="muted">(none)</span>}</td>
                <td class="mono secret">{g.secret}</td>
                <td class="num">{count(g.attempts)}</td>
                <td class="num">{g.attackers.size}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.total > SAMPLE && <p class="muted small">Among the {count(SAMPLE)} most recently seen of {count(data.total)}.</p>}
    </Card>
  );
}

function TopTechniques() {
  const version = useStreamVersion(TTP_EVENTS, 5500);
  const { data, error } = useFetch<TechniqueRow[]>('/ttp/techniques', { refreshMs: 15_000, version });
  const rows = (data ?? []).slice(0, 8);
  const max = Math.max(1, ...rows.map((t) => t.count));
  return (
    <Card title="Top techniques" actions={<a href="/attack" class="small">matrix</a>}>
      <ErrorBox error={error} what="techniques" />
      {data && rows.length === 0 && <Empty>No ATT&CK techniques tagged yet.</Empty>}
      <ol class="toplist">
        {rows.map((t) => (
          <li key={`${t.technique_id}/${t.sub_technique_id ?? ''}`}>
            <a href="/attack" class="mono">
              {t.sub_technique_id ?? t.technique_id}
            </a>
            <span class="small">{techniqueLabel(t)}</span>
            <span class="bar-cell">
              <span class="bar-fill alt" style={{ width: `${(t.count / max) * 100}%` }} />
              <span class="bar-num">{count(t.count)}</span>
            </span>
          </li>
        ))}
      </ol>
    </Card>
  );
}

function Headline() {
  const version = useStreamVersion(LOG_EVENTS, 5500);
  const { data, error } = useFetch<Stats>('/stats', { refreshMs: 15_000, version });
  return (
    <>
      <ErrorBox error={error} what="the headline numbers" />
      <div class="stats">
        <Stat label="events" value={count(data?.total_logs)} />
        <Stat label="attacker addresses" value={count(data?.unique_attackers)} hint="distinct source addresses in the event log" />
        <Stat label="deckies up" value={data ? `${count(data.active_deckies)} / ${count(data.deployed_deckies)}` : '—'} hint="running / deployed" />
        <Stat label="deckies hit" value={count(data?.deckies_hit)} />
      </div>
    </>
  );
}

export function OverviewPage() {
  return (
    <>
      <PageTitle title="Overview" />
      <Headline />
      <div class="grid">
        <LiveFeed />
      </div>
      <div class="grid three">
        <TopAttackers />
        <TopCredentials />
        <TopTechniques />
      </div>
    </>
  );
}
