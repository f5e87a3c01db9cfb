// Workers and memory: every worker's state, heartbeat age and restarts, with stop / restart / start
// for admins (the request goes out on the bus; this page then watches for the new state), and the
// PSS of each process with the workers it hosts.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.ts';
import { useFetch, useSession } from '../lib/hooks.ts';
import { stream } from '../lib/stream.ts';
import { count, duration, kib } from '../lib/format.ts';
import { Badge, Card, ErrorBox, Loading, PageTitle } from '../components/ui.tsx';
import type { WorkerView, WorkersSnapshot } from '../lib/types.ts';

const FAST_POLL_MS = 1_000;
const SLOW_POLL_MS = 5_000;
/** After a request, the page polls fast for this long (a host acts within a second or two). */
const WATCH_MS = 20_000;

const STATE_KIND: Record<string, string> = { running: 'good', starting: 'info', stopping: 'info', backoff: 'warn', stopped: 'bad', failed: 'bad', done: '' };

type Action = 'stop' | 'restart' | 'start';

/** Workers whose stop takes this page down with them: the dashboard asks first. */
const CRITICAL: Record<string, string> = {
  api: 'This dashboard and the API stop answering; start it again with `decnet` on the host (or restart the api process).',
  bus: 'Without the bus no worker receives events or control requests, including a request to start it again.',
};

interface Pending {
  action: Action;
  since: number;
  /** The worker's restart count when asked (a restart is done when it has grown). */
  restarts: number;
}

function settled(p: Pending, w: WorkerView): boolean {
  if (p.action === 'stop') return w.state === 'stopped';
  if (p.action === 'start') return w.state === 'running';
  return w.state === 'running' && (w.restarts ?? 0) > p.restarts;
}

function actionsFor(w: WorkerView): Action[] {
  if (w.status === 'unknown' || !w.state) return [];
  if (w.state === 'stopped' || w.state === 'done' || w.state === 'failed') return ['start'];
  return ['stop', 'restart'];
}

export function WorkersPage() {
  const me = useSession();
  const admin = me?.role === 'admin';
  const [watchUntil, setWatchUntil] = useState(0);
  const fast = watchUntil > Date.now();
  const { data, error, reload } = useFetch<WorkersSnapshot>('/workers', { refreshMs: fast ? FAST_POLL_MS : SLOW_POLL_MS });
  const [pending, setPending] = useState<Record<string, Pending>>({});
  const [actionError, setActionError] = useState<Error>();

  // Stop polling fast once the watch window is over.
  useEffect(() => {
    if (!fast) return;
    const timer = setTimeout(() => setWatchUntil(0), watchUntil - Date.now());
    return () => clearTimeout(timer);
  }, [watchUntil]);

  // A heartbeat says a worker's state changed: refresh now rather than at the next poll.
  useEffect(() => {
    let last = 0;
    return stream.on('health', () => {
      if (Date.now() - last < FAST_POLL_MS) return;
      last = Date.now();
      reload();
    });
  }, [reload]);

  // A pending request is settled once the worker reports the state it asked for.
  useEffect(() => {
    if (!data) return;
    setPending((p) => {
      const next = { ...p };
      for (const [name, req] of Object.entries(p)) {
        const w = data.workers.find((x) => x.name === name);
        if (!w || settled(req, w) || Date.now() - req.since > WATCH_MS) delete next[name];
      }
      return next;
    });
  }, [data]);

  async function act(w: WorkerView, action: Action) {
    const warning = CRITICAL[w.name];
    if (action === 'stop' && warning && !confirm(`Stop ${w.name}? ${warning}`)) return;
    setActionError(undefined);
    setPending((p) => ({ ...p, [w.name]: { action, since: Date.now(), restarts: w.restarts ?? 0 } }));
    try {
      await api(`/workers/${encodeURIComponent(w.name)}/${action}`, { method: 'POST' });
      setWatchUntil(Date.now() + WATCH_MS);
      reload();
    } catch (err) {
      setPending((p) => {
        const { [w.name]: _gone, ...rest } = p;
        return rest;
      });
      setActionError(err as Error);
    }
  }

  const processes = data?.processes ?? [];
  // A launcher may host a group itself (same pid, two entries): count each process once.
  const pss = new Map<number, number>();
  for (const p of processes) if (p.alive) pss.set(p.pid, Math.max(pss.get(p.pid) ?? 0, p.pss_kb ?? 0));
  const totalPss = [...pss.values()].reduce((s, v) => s + v, 0);

  return (
    <>
      <PageTitle title="Workers and memory">
        {data && <Badge kind={data.bus_connected ? 'good' : 'bad'}>{data.bus_connected ? 'bus connected' : 'bus down'}</Badge>}
      </PageTitle>
      <ErrorBox error={error} what="the workers" />
      <ErrorBox error={actionError} />
      {!data && !error && <Loading />}
      {data && (
        <div class="grid">
          <Card title="Workers" class="span-2">
            {!admin && <p class="muted small">Stopping and restarting workers needs the admin role.</p>}
            <div class="table-wrap">
              <table aria-label="workers">
                <thead>
                  <tr>
                    <th>Worker</th>
                    <th class="hide-sm">Process</th>
                    <th>State</th>
                    <th>Heartbeat</th>
                    <th class="num hide-sm">Uptime</th>
                    <th class="num">Restarts</th>
                    <th class="num hide-sm">Host PSS</th>
                    {admin && <th>Control</th>}
                  </tr>
                </thead>
                <tbody>
                  {data.workers.map((w) => {
                    const busy = pending[w.name];
                    return (
                      <tr key={w.name} data-worker={w.name} data-state={w.state ?? ''} data-restarts={w.restarts ?? ''}>
                        <td>
                          <strong>{w.name}</strong>
                          {w.summary && <div class="muted small hide-sm">{w.summary}</div>}
                          {w.last_error && <div class="error-text small" title={w.last_error}>{w.last_error.slice(0, 160)}</div>}
                        </td>
                        <td class="small nowrap hide-sm">
                          {w.process ?? <span class="muted">{w.group ?? '—'}</span>}
                          {w.pid && <div class="muted mono">pid {w.pid}</div>}
                        </td>
                        <td class="nowrap">
                          <Badge kind={STATE_KIND[w.state ?? ''] ?? ''}>{w.state ?? 'not running'}</Badge>
                          {busy && <span class="muted small"> {busy.action} requested…</span>}
                        </td>
                        <td class="nowrap small">
                          <Badge kind={w.status === 'ok' ? 'good' : w.status === 'stale' ? 'warn' : ''}>{w.status}</Badge>{' '}
                          {w.seconds_since !== null && <span class="muted">{duration(w.seconds_since)} ago</span>}
                        </td>
                        <td class="num small hide-sm">{w.state === 'running' ? duration(w.uptime_s) : '—'}</td>
                        <td class="num">{count(w.restarts)}</td>
                        <td class="num small hide-sm">{kib(w.host_pss_kb)}</td>
                        {admin && (
                          <td class="nowrap">
                            {actionsFor(w).map((a) => (
                              <button key={a} type="button" class={`small ${a === 'stop' ? 'danger' : ''}`} disabled={!!busy} onClick={() => void act(w, a)} aria-label={`${a} ${w.name}`}>
                                {a[0].toUpperCase() + a.slice(1)}
                              </button>
                            ))}
                          </td>
                        )}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </Card>
          <Card title={`Memory: ${kib(totalPss)} PSS in ${pss.size} process${pss.size === 1 ? '' : 'es'}`} class="span-2">
            <p class="muted small">PSS counts shared pages once across the fleet, so the total is what the fleet really costs.</p>
            <div class="table-wrap">
              <table aria-label="processes">
                <thead>
                  <tr>
                    <th>Process</th>
                    <th>Workers</th>
                    <th class="num">PSS</th>
                    <th class="num hide-sm">PSS anon</th>
                    <th class="num hide-sm">USS</th>
                    <th class="num hide-sm">RSS</th>
                    <th class="num hide-sm">Loop p99</th>
                  </tr>
                </thead>
                <tbody>
                  {processes.map((p) => (
                    <tr key={`${p.name}-${p.pid}`} class={p.alive ? undefined : 'dim'}>
                      <td class="nowrap">
                        <strong>{p.name}</strong> <span class="muted mono small">pid {p.pid}</span>
                        {!p.alive && <Badge kind="bad">gone</Badge>}
                      </td>
                      <td class="small">{p.workers.join(', ') || <span class="muted">{p.role}</span>}</td>
                      <td class="num nowrap">{kib(p.pss_kb)}</td>
                      <td class="num small hide-sm">{kib(p.pss_anon_kb)}</td>
                      <td class="num small hide-sm">{kib(p.uss_kb)}</td>
                      <td class="num small hide-sm">{kib(p.rss_kb)}</td>
                      <td class="num small hide-sm">{p.el_delay_p99_ms === null ? '—' : `${p.el_delay_p99_ms.toFixed(1)} ms`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Card>
        </div>
      )}
    </>
  );
}
