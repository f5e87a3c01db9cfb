// The deckies of the current deploy plan and how each one is doing in the decoy host: addresses,
// personas, services with their ports, and listeners that failed (with the reason and a hint).
import { useEffect } from 'preact/hooks';
import { useFetch } from '../lib/hooks.ts';
import { stream } from '../lib/stream.ts';
import { ago } from '../lib/format.ts';
import { Badge, Card, Empty, ErrorBox, Loading, PageTitle } from '../components/ui.tsx';

interface Decky {
  name: string;
  ip: string;
  hostname: string;
  archetype: string;
  distro: string;
  osFamily: string;
  services: { name: string; ports: string[] }[];
  state: 'up' | 'partial' | 'down' | 'starting' | 'not running';
  problems: { service: string; port: number; error: string; hint?: string }[];
}

interface DeckiesAnswer {
  plan_path: string;
  source: 'deployed' | 'default' | 'invalid';
  plan_error?: string;
  generated: string;
  host: { running: boolean; pid?: number; updated_at?: number; applied: boolean };
  deckies: Decky[];
}

const STATE_KIND: Record<Decky['state'], string> = { up: 'good', partial: 'warn', down: 'bad', starting: 'info', 'not running': '' };

export function DeckiesPage() {
  const { data, error, reload } = useFetch<DeckiesAnswer>('/deckies', { refreshMs: 10_000 });
  // A decky changing state is announced on the stream: show it without waiting for the timer.
  useEffect(() => stream.on('decky', () => reload()), [reload]);
  return (
    <>
      <PageTitle title="Deckies" />
      <ErrorBox error={error} what="the deckies" />
      {!data && !error && <Loading />}
      {data && (
        <>
          <Card>
            <p class="small">
              Decoy host:{' '}
              {data.host.running ? (
                <Badge kind="good">running{data.host.pid ? ` (pid ${data.host.pid})` : ''}</Badge>
              ) : (
                <Badge kind="bad">not running</Badge>
              )}{' '}
              {data.host.running && !data.host.applied && <Badge kind="info">applying the plan</Badge>}{' '}
              {data.host.updated_at && <span class="muted">updated {ago(data.host.updated_at)}</span>}
            </p>
            <p class="small muted">
              Plan: {data.source === 'deployed' ? <code>{data.plan_path}</code> : data.source === 'default' ? 'none deployed (showing the default plan)' : 'invalid'} · generated {ago(data.generated)}
            </p>
            {data.plan_error && <div class="error">{data.plan_error}</div>}
          </Card>
          {data.deckies.length === 0 && <Empty>No deckies in the plan. Deploy some with <code>decnet deploy</code>.</Empty>}
          <div class="cards">
            {data.deckies.map((d) => (
              <Card
                key={d.name}
                title={
                  <>
                    {d.name} <Badge kind={STATE_KIND[d.state]}>{d.state}</Badge>
                  </>
                }
              >
                <p class="mono">{d.ip}</p>
                <p class="small">
                  {d.hostname} · {d.archetype} · {d.distro} ({d.osFamily})
                </p>
                <ul class="services">
                  {d.services.map((s) => (
                    <li key={s.name}>
                      <strong>{s.name}</strong> <span class="muted mono small">{s.ports.join(' ')}</span>
                    </li>
                  ))}
                </ul>
                {d.problems.map((p) => (
                  <div class="error small" key={`${p.service}:${p.port}`}>
                    {p.service}:{p.port}: {p.error}
                    {p.hint && <div class="muted">{p.hint}</div>}
                  </div>
                ))}
                <p class="small">
                  <a href={`/logs?q=${encodeURIComponent(`decky:${d.name}`)}`}>events</a>
                </p>
              </Card>
            ))}
          </div>
        </>
      )}
    </>
  );
}

