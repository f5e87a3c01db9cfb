// Webhook subscriptions (admins): which URLs receive which bus events, how their deliveries are
// going, and a form to add one. The signing secret is shown once, right after creation.
import { useState } from 'preact/hooks';
import { api } from '../lib/api.ts';
import { useFetch, useSession } from '../lib/hooks.ts';
import { ago } from '../lib/format.ts';
import { Badge, Card, Empty, ErrorBox, Loading, PageTitle } from '../components/ui.tsx';
import type { Webhook } from '../lib/types.ts';

const GROUPS: [string, string][] = [
  ['AttackerDetail', 'attacker activity (attacker.>)'],
  ['Credentials', 'captured credentials (credential.>)'],
  ['Techniques', 'ATT&CK tags (ttp.tagged)'],
  ['DeckyStatus', 'decky state and traffic'],
  ['SystemStatus', 'worker health and system events (system.>)'],
];

function CreateForm({ onCreated }: { onCreated: (secret: string, name: string) => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('https://');
  const [groups, setGroups] = useState<string[]>(['AttackerDetail']);
  const [patterns, setPatterns] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const topic_patterns = patterns
      .split(/[\s,]+/)
      .map((p) => p.trim())
      .filter(Boolean);
    try {
      const created = await api<Webhook & { secret: string }>('/webhooks', { method: 'POST', body: { name: name.trim(), url: url.trim(), simple_events: groups, topic_patterns, enabled: true } });
      setName('');
      setUrl('https://');
      setPatterns('');
      onCreated(created.secret, created.name);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="stack" onSubmit={submit} aria-label="new webhook">
      <div class="row wrap">
        <label class="grow">
          Name
          <input required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="soc-alerts" />
        </label>
        <label class="grow2">
          URL
          <input required type="url" maxLength={2048} value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="https://siem.example.org/hooks/decnet" />
        </label>
      </div>
      <fieldset>
        <legend>Events</legend>
        {GROUPS.map(([key, label]) => (
          <label class="check" key={key}>
            <input type="checkbox" checked={groups.includes(key)} onChange={(e) => setGroups(e.currentTarget.checked ? [...groups, key] : groups.filter((g) => g !== key))} /> {label}
          </label>
        ))}
        <label>
          More bus patterns (optional, separated by spaces)
          <input class="mono" value={patterns} maxLength={2000} onInput={(e) => setPatterns(e.currentTarget.value)} placeholder="canary.> attribution.*" />
        </label>
      </fieldset>
      <ErrorBox error={error} />
      <div>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Adding…' : 'Add webhook'}
        </button>
      </div>
    </form>
  );
}

export function WebhooksPage() {
  const me = useSession();
  const admin = me?.role === 'admin';
  const { data, error, reload } = useFetch<Webhook[]>(admin ? '/webhooks' : null, { refreshMs: 15_000 });
  const [secret, setSecret] = useState<{ name: string; secret: string }>();
  const [actionError, setActionError] = useState<Error>();

  async function change(w: Webhook, body: Record<string, unknown> | null) {
    setActionError(undefined);
    try {
      if (body) await api(`/webhooks/${w.uuid}`, { method: 'PATCH', body });
      else await api(`/webhooks/${w.uuid}`, { method: 'DELETE' });
      reload();
    } catch (err) {
      setActionError(err as Error);
    }
  }

  if (!admin) {
    return (
      <>
        <PageTitle title="Webhooks" />
        <Card>
          <p>Webhook subscriptions carry signing secrets; only admins can see and change them.</p>
        </Card>
      </>
    );
  }

  return (
    <>
      <PageTitle title="Webhooks" />
      {secret && (
        <div class="notice secret-once" role="status">
          <p>
            Signing secret of <strong>{secret.name}</strong>. It is shown only now: store it where the receiver can verify the <code>X-DECNET-Signature</code> header.
          </p>
          <code class="mono big">{secret.secret}</code>
          <div>
            <button type="button" class="small" onClick={() => setSecret(undefined)}>
              I have stored it
            </button>
          </div>
        </div>
      )}
      <ErrorBox error={error} what="the webhooks" />
      <ErrorBox error={actionError} />
      <Card title="Subscriptions">
        {!data && !error && <Loading />}
        {data && data.length === 0 && <Empty>No webhooks yet.</Empty>}
        {data && data.length > 0 && (
          <div class="table-wrap">
            <table aria-label="webhooks">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>URL</th>
                  <th>Events</th>
                  <th>Status</th>
                  <th>Last delivery</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {data.map((w) => (
                  <tr key={w.uuid}>
                    <td>
                      <strong>{w.name}</strong>
                    </td>
                    <td class="mono small break">
                      {w.url}
                      {w.warnings?.map((x) => (
                        <div class="warn-text" key={x}>
                          {x}
                        </div>
                      ))}
                    </td>
                    <td class="mono small">{w.topic_patterns.join(' ')}</td>
                    <td class="nowrap">
                      {w.enabled ? <Badge kind="good">enabled</Badge> : <Badge kind={w.auto_disabled_at ? 'bad' : ''}>{w.auto_disabled_at ? 'disabled after failures' : 'disabled'}</Badge>}
                      {w.consecutive_failures > 0 && <div class="small warn-text">{w.consecutive_failures} failures in a row</div>}
                      {w.last_error && <div class="small error-text" title={w.last_error}>{w.last_error.slice(0, 120)}</div>}
                    </td>
                    <td class="small nowrap">
                      {w.last_success_at ? `ok ${ago(w.last_success_at)}` : <span class="muted">never succeeded</span>}
                      {w.last_failure_at && <div class="muted">failed {ago(w.last_failure_at)}</div>}
                    </td>
                    <td class="nowrap">
                      <button type="button" class="small" onClick={() => void change(w, { enabled: !w.enabled })}>
                        {w.enabled ? 'Disable' : 'Enable'}
                      </button>
                      <button
                        type="button"
                        class="small danger"
                        onClick={() => {
                          if (confirm(`Delete the webhook ${w.name}?`)) void change(w, null);
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <Card title="Add a webhook">
        <CreateForm
          onCreated={(s, name) => {
            setSecret({ secret: s, name });
            reload();
          }}
        />
      </Card>
    </>
  );
}
