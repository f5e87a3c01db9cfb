// One attacker: profile, behaviour, enrichment, techniques, credentials, commands and the timeline
// of events. New events from this address appear in the timeline as they happen; profile updates
// announced on the stream refresh the rest. /attackers/lookup?ip=<address> finds the profile of an
// address (links from the feed carry only the address) and shows its raw events until the
// profiler has built one.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.ts';
import { useFetch, useFrameBatch } from '../lib/hooks.ts';
import { stream } from '../lib/stream.ts';
import { ago, count, dateTime, show } from '../lib/format.ts';
import { mitreUrl, techniqueLabel } from '../lib/attack.ts';
import { navigate, useLocation } from '../lib/router.ts';
import { EventTable } from '../components/EventTable.tsx';
import { Badge, Card, Empty, ErrorBox, Facts, Loading, PageTitle, Pager } from '../components/ui.tsx';
import type { Page } from '../lib/api.ts';
import type { Attacker, AttackerDetail, Behavior, Command, Credential, Intel, LogRow, TechniqueRow } from '../lib/types.ts';

const TIMELINE_LIMIT = 50;
const LIVE_ROWS = 200;

interface BusFrame {
  topic?: string;
  payload?: { attacker_uuid?: string; attacker_ip?: string } | null;
}

/** Timeline rows of one address: a page from the API, plus, on the first page, what arrives live. */
function useTimeline(path: string, query: Record<string, string | number>, ip: string, offset: number) {
  const page = useFetch<Page<LogRow>>(path, { query: { ...query, limit: TIMELINE_LIMIT, offset } });
  const [live, setLive] = useState<LogRow[]>([]);
  const add = useFrameBatch<LogRow>((rows) => setLive((old) => [...rows.reverse(), ...old].slice(0, LIVE_ROWS)));
  useEffect(() => {
    setLive([]);
    if (offset !== 0) return;
    return stream.on('log', (data) => {
      const row = data as LogRow;
      if (row && row.attacker_ip === ip) add(row);
    });
  }, [ip, offset, path]);
  const known = new Set(live.map((r) => r.id));
  const rows = offset === 0 ? [...live, ...(page.data?.data ?? []).filter((r) => !known.has(r.id))].sort((a, b) => b.id - a.id) : (page.data?.data ?? []);
  const fresh = page.data ? live.filter((r) => !page.data!.data.some((p) => p.id === r.id)).length : 0;
  return { ...page, rows, total: (page.data?.total ?? 0) + fresh };
}

function Timeline({ uuid, ip }: { uuid?: string; ip: string }) {
  const [offset, setOffset] = useState(0);
  const path = uuid ? `/attackers/${uuid}/events` : '/logs';
  const query: Record<string, string> = uuid ? {} : { search: `attacker:${ip}` };
  const t = useTimeline(path, query, ip, offset);
  return (
    <Card title={`Timeline (${count(t.total)} events)`} class="span-2" actions={offset === 0 && <span class="muted small">live</span>}>
      <ErrorBox error={t.error} what="the events" />
      {t.data && t.rows.length === 0 && <Empty>No events recorded for {ip}.</Empty>}
      {t.rows.length > 0 && <EventTable rows={t.rows} fullDate showAttacker={false} live={offset === 0} label="attacker timeline" />}
      {t.data && <Pager total={t.total} limit={TIMELINE_LIMIT} offset={offset} onOffset={setOffset} />}
    </Card>
  );
}

function BehaviorCard({ b }: { b: Behavior | null }) {
  if (!b) return <Card title="Behaviour"><Empty>The profiler has not classified this attacker yet.</Empty></Card>;
  const rows: [string, ComponentChildren][] = [
    ['Class', b.behavior_class ? <Badge kind="info">{b.behavior_class.replace(/_/g, ' ')}</Badge> : null],
    ['OS guess', b.os_guess],
    ['Hop distance', b.hop_distance ?? null],
    ['Beacon', b.beacon_interval_s ? `every ${b.beacon_interval_s.toFixed(1)} s ± ${(b.beacon_jitter_pct ?? 0).toFixed(0)} %` : null],
    ['Tools', b.tool_guesses?.length ? b.tool_guesses.join(', ') : null],
    ['SSH clients', b.ssh_client_banners?.length ? <span class="mono">{b.ssh_client_banners.join(', ')}</span> : null],
    ['Phases', b.phase_sequence?.length ? b.phase_sequence.map((p) => show(typeof p === 'object' && p && 'phase' in p ? (p as { phase: unknown }).phase : p)).join(' → ') : null],
    ['Retransmits', b.retransmit_count ?? null],
  ];
  const timing = b.timing_stats && Object.keys(b.timing_stats).length ? b.timing_stats : null;
  return (
    <Card title="Behaviour">
      <Facts rows={rows.filter(([, v]) => v !== null && v !== undefined && v !== '')} />
      {timing && (
        <details>
          <summary>Timing</summary>
          <Facts rows={Object.entries(timing).slice(0, 20).map(([k, v]) => [k.replace(/_/g, ' '), typeof v === 'number' ? Number(v.toFixed(3)) : show(v)])} />
        </details>
      )}
    </Card>
  );
}

function EnrichmentCard({ a, intel }: { a: AttackerDetail; intel: Intel | null }) {
  const verdict = intel?.aggregate_verdict;
  return (
    <Card title="Enrichment">
      <Facts
        rows={[
          ['Country', a.country_code],
          ['AS', a.asn ? `AS${a.asn}${a.as_name ? ` ${a.as_name}` : ''}` : a.as_name],
          ['Prefix', a.bgp_prefix ?? null],
          ['Reverse DNS', a.ptr_record ? <span class="mono">{a.ptr_record}</span> : null],
          ['Verdict', verdict ? <Badge kind={verdict === 'malicious' ? 'bad' : verdict === 'benign' ? 'good' : ''}>{verdict}</Badge> : <span class="muted">no threat-intel look-up</span>],
          ...(intel
            ? ([
                ['GreyNoise', intel.greynoise_classification ? `${intel.greynoise_classification}${intel.greynoise_name ? ` (${intel.greynoise_name})` : ''}` : null],
                ['AbuseIPDB', intel.abuseipdb_score ?? null],
                ['Feodo', intel.feodo_listed === null || intel.feodo_listed === undefined ? null : intel.feodo_listed ? `listed${intel.feodo_malware_family ? ` (${intel.feodo_malware_family})` : ''}` : 'not listed'],
                ['ThreatFox', intel.threatfox_listed === null || intel.threatfox_listed === undefined ? null : intel.threatfox_listed ? 'listed' : 'not listed'],
                ['Checked', intel.cached_at ? dateTime(intel.cached_at) : null],
              ] as [string, ComponentChildren][])
            : []),
        ].filter(([, v]) => v !== null && v !== undefined && v !== '') as [string, ComponentChildren][]}
      />
    </Card>
  );
}

/** Technique names from the fleet summary (the attacker's own roll-up carries only ids). */
function useTechniqueNames(): Map<string, string> {
  const { data } = useFetch<TechniqueRow[]>('/ttp/techniques', { refreshMs: 60_000 });
  const names = new Map<string, string>();
  for (const t of data ?? []) if (t.technique_name) names.set(t.sub_technique_id ?? t.technique_id, t.technique_name);
  return names;
}

function TechniquesCard({ rows }: { rows: TechniqueRow[] }) {
  const names = useTechniqueNames();
  return (
    <Card title={`Techniques (${rows.length})`}>
      {rows.length === 0 ? (
        <Empty>No ATT&CK technique tagged for this attacker.</Empty>
      ) : (
        <table class="compact" aria-label="techniques">
          <thead>
            <tr>
              <th>Technique</th>
              <th>Tactic</th>
              <th class="num">Tags</th>
              <th>Last</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => {
              const id = t.sub_technique_id ?? t.technique_id;
              return (
                <tr key={id}>
                  <td>
                    <a class="mono" href={mitreUrl(id)} target="_blank" rel="noopener noreferrer">
                      {id}
                    </a>{' '}
                    <span class="small">{techniqueLabel(t) || names.get(id) || ''}</span>
                  </td>
                  <td class="small">{t.tactic ?? '—'}</td>
                  <td class="num">{count(t.count)}</td>
                  <td class="small nowrap">{ago(t.last_seen)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function CredentialsCard({ uuid, version }: { uuid: string; version: number }) {
  const [offset, setOffset] = useState(0);
  const { data, error } = useFetch<Page<Credential>>(`/attackers/${uuid}/credentials`, { query: { limit: 20, offset }, version });
  return (
    <Card title={`Credentials${data ? ` (${count(data.total)})` : ''}`}>
      <ErrorBox error={error} what="credentials" />
      {data && data.data.length === 0 && <Empty>No credentials tried.</Empty>}
      {data && data.data.length > 0 && (
        <div class="table-wrap">
          <table class="compact" aria-label="attacker credentials">
            <thead>
              <tr>
                <th>Service</th>
                <th>User</th>
                <th>Secret</th>
                <th>Outcome</th>
                <th class="num">Tries</th>
              </tr>
            </thead>
            <tbody>
              {data.data.map((c) => (
                <tr key={c.id}>
                  <td class="small">
                    {c.service}@{c.decky_name}
                  </td>
                  <td class="mono">{c.principal ?? '—'}</td>
                  <td class="mono secret">{c.secret_printable ?? <span class="muted">{c.secret_kind}</span>}</td>
                  <td>
                    <Badge kind={c.outcome === 'success' ? 'bad' : ''}>{c.outcome}</Badge>
                  </td>
                  <td class="num">{count(c.attempt_count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && <Pager total={data.total} limit={data.limit} offset={data.offset} onOffset={setOffset} />}
    </Card>
  );
}

function CommandsCard({ uuid, version }: { uuid: string; version: number }) {
  const [offset, setOffset] = useState(0);
  const { data, error } = useFetch<Page<Command>>(`/attackers/${uuid}/commands`, { query: { limit: 25, offset }, version });
  return (
    <Card title={`Commands${data ? ` (${count(data.total)})` : ''}`}>
      <ErrorBox error={error} what="commands" />
      {data && data.data.length === 0 && <Empty>No shell commands.</Empty>}
      {data && data.data.length > 0 && (
        <ol class="commands" aria-label="commands">
          {data.data.map((c, i) => (
            <li key={`${c.timestamp}-${i}`}>
              <span class="muted small nowrap">
                {dateTime(c.timestamp)} {c.service}@{c.decky}
              </span>
              <code>$ {c.command}</code>
            </li>
          ))}
        </ol>
      )}
      {data && <Pager total={data.total} limit={data.limit} offset={data.offset} onOffset={setOffset} />}
    </Card>
  );
}

/** Refetches when the stream says something about this attacker (at most every 2 s). */
function useAttackerUpdates(uuid: string, ip: string): number {
  const [version, setVersion] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    const bump = (data: unknown) => {
      const p = (data as BusFrame)?.payload;
      if (!p || (p.attacker_uuid !== uuid && p.attacker_ip !== ip)) return;
      if (timer.current) return;
      timer.current = setTimeout(() => {
        timer.current = undefined;
        setVersion((v) => v + 1);
      }, 2000);
    };
    const offs = [stream.on('attacker', bump), stream.on('ttp', bump), stream.on('credential', bump)];
    return () => {
      offs.forEach((off) => off());
      clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [uuid, ip]);
  return version;
}

function AttackerView({ uuid }: { uuid: string }) {
  const [ip, setIp] = useState('');
  const version = useAttackerUpdates(uuid, ip);
  const { data: a, error } = useFetch<AttackerDetail>(`/attackers/${uuid}`, { version });
  useEffect(() => setIp(a?.ip ?? ''), [a?.ip]);
  if (error && !a) return <ErrorBox error={error} what="this attacker" />;
  if (!a) return <Loading />;
  return (
    <>
      <PageTitle title={a.ip}>
        {a.is_traversal && <Badge kind="warn">moved between deckies</Badge>}
        {a.behavior?.behavior_class && <Badge kind="info">{a.behavior.behavior_class.replace(/_/g, ' ')}</Badge>}
        <a class="button small ghost" href={`/logs?q=${encodeURIComponent(`attacker:${a.ip}`)}`}>
          Search its events
        </a>
      </PageTitle>
      <div class="grid">
        <Card title="Profile">
          <Facts
            rows={[
              ['First seen', dateTime(a.first_seen)],
              ['Last seen', `${dateTime(a.last_seen)} (${ago(a.last_seen)})`],
              ['Events', count(a.event_count)],
              ['Services', a.services.join(', ') || '—'],
              ['Deckies', a.deckies.join(', ') || '—'],
              ['Credentials', count(a.credential_count)],
              ['Bounties', count(a.bounty_count)],
              ['Identity', a.identity_id ? <span class="mono small">{a.identity_id}</span> : <span class="muted">not clustered</span>],
              ...(a.traversal_path ? ([['Path', <span class="mono small">{a.traversal_path}</span>]] as [string, ComponentChildren][]) : []),
            ]}
          />
        </Card>
        <EnrichmentCard a={a} intel={a.intel} />
        <BehaviorCard b={a.behavior} />
        <TechniquesCard rows={a.techniques ?? []} />
        <CredentialsCard uuid={uuid} version={version} />
        <CommandsCard uuid={uuid} version={version} />
        <Timeline uuid={uuid} ip={a.ip} />
      </div>
    </>
  );
}

export function AttackerPage({ params }: { params: Record<string, string> }) {
  return <AttackerView key={params.uuid} uuid={params.uuid} />;
}

/** Finds the profile of an address; until one exists, shows the address's raw events (live). */
export function AttackerByIpPage() {
  const ip = useLocation().query.get('ip') ?? '';
  const [error, setError] = useState<Error>();
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (!ip) {
      setError(new Error('no address given: open this page as /attackers/lookup?ip=<address>'));
      return;
    }
    const look = async () => {
      try {
        const page = await api<Page<Attacker>>('/attackers', { query: { search: ip, limit: 20 } });
        if (stop) return;
        const hit = page.data.find((a) => a.ip === ip);
        if (hit) {
          navigate(`/attackers/${hit.uuid}`, { replace: true });
          return;
        }
        setMissing(true);
        setError(undefined);
      } catch (err) {
        if (stop) return;
        setError(err as Error);
      }
      // The profiler builds profiles a moment after the first events: look again.
      timer = setTimeout(() => void look(), 3000);
    };
    void look();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [ip]);
  return (
    <>
      <PageTitle title={ip} />
      <ErrorBox error={error} what="the attacker profile" />
      {!missing && !error && <Loading what="Looking up the profile" />}
      {missing && (
        <div class="grid">
          <p class="notice span-2">No attacker profile for {ip} yet: the profiler builds it shortly after the first events. This page switches to it as soon as it exists.</p>
          <Timeline ip={ip} />
        </div>
      )}
    </>
  );
}
