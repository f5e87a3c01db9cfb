// `decnet webhook`: without an action, runs the webhook worker standalone; otherwise manages the
// subscriptions: add, list, test, enable, remove. Changes are announced on
// system.webhook.subscriptions_changed so a running worker picks them up at once.
import type { ParsedArgs } from './args.ts';
import { DecnetError, UsageError, errorMessage } from '../core/errors.ts';
import type { Database } from '../db/types.ts';
import type { WebhookRow } from '../db/webhooks/repo.ts';

export const WEBHOOK_ACTIONS = ['add', 'list', 'test', 'enable', 'remove'] as const;
const ADD_ONLY = ['url', 'events', 'name', 'secret', 'allow-private', 'rate'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const out = (s: string) => process.stdout.write(s);

function refuse(args: ParsedArgs, names: string[], where: string): void {
  for (const n of names) if (args.options[n] !== undefined && args.options[n] !== false) throw new UsageError(`decnet webhook: --${n} does not apply to ${where}`);
}

export default async function webhook(args: ParsedArgs): Promise<number> {
  const [action, id] = args.positionals;
  if (action === undefined) {
    refuse(args, [...ADD_ONLY, 'json'], 'the worker (did you mean `decnet webhook add`?)');
    const { runStandaloneCommand } = await import('../fleet/standalone.ts');
    return runStandaloneCommand('webhook', { options: {}, positionals: [] });
  }
  if (!(WEBHOOK_ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(`decnet webhook: unknown action ${JSON.stringify(action)}; use ${WEBHOOK_ACTIONS.join(', ')} (or no action to run the worker)`);
  }
  if (action !== 'add') refuse(args, ADD_ONLY, `\`decnet webhook ${action}\``);
  if (action === 'add' || action === 'list') {
    if (id !== undefined) throw new UsageError(`decnet webhook ${action}: unexpected argument ${JSON.stringify(id)}`);
  } else if (id === undefined) {
    throw new UsageError(`decnet webhook ${action}: name the subscription (its id or name; see decnet webhook list)`);
  }
  const { openDatabase } = await import('../db/connection.ts');
  const db = await openDatabase();
  try {
    switch (action) {
      case 'add':
        return await add(db, args);
      case 'list':
        return await list(db, args.options.json === true);
      case 'test':
        return await test(db, id!, args.options.json === true);
      case 'enable':
        return await enable(db, id!);
      case 'remove':
        return await remove(db, id!);
    }
  } finally {
    await db.close();
  }
  return 0;
}

async function find(db: Database, idOrName: string): Promise<WebhookRow> {
  const repo = await import('../db/webhooks/repo.ts');
  const row = UUID.test(idOrName) ? await repo.getWebhook(db, idOrName) : (await repo.listWebhooks(db)).find((w) => w.name === idOrName);
  if (!row) throw new DecnetError(`no webhook subscription ${JSON.stringify(idOrName)} (see decnet webhook list)`);
  return row;
}

/** Tells a running worker to reload; says so when the bus is not reachable. */
async function announce(payload: Record<string, unknown>): Promise<void> {
  try {
    const { openMemberBus } = await import('../bus/connect.ts');
    const { topics } = await import('../bus/topics.ts');
    const { configureLogging } = await import('../core/log.ts');
    configureLogging({ level: 'error' }); // an absent broker is reported once, below
    const bus = await openMemberBus(`cli-webhook-${process.pid}`);
    try {
      // The connection opens lazily: the publish waits in its buffer, and flush() connects and
      // returns once the broker has everything.
      bus.publish(topics.webhookSubscriptionsChanged, payload);
      if (!(await bus.connection.flush(2000))) throw new Error('no broker answered within 2 s');
    } finally {
      await bus.close();
    }
  } catch (err) {
    process.stderr.write(`note: the bus is not reachable (${errorMessage(err)}); a running webhook worker picks the change up at its next reload (DECNET_WEBHOOK_RELOAD_S, 60 s by default)\n`);
  }
}

async function add(db: Database, args: ParsedArgs): Promise<number> {
  const url = args.options.url;
  if (typeof url !== 'string' || url === '') throw new UsageError('decnet webhook add: --url URL is required');
  const events = (args.options.events as string[] | undefined) ?? [];
  if (events.length === 0) throw new UsageError("decnet webhook add: --events is required: bus subject patterns, e.g. --events 'attacker.*,ttp.>'");
  const { assertPattern } = await import('../bus/subject.ts');
  for (const p of events) {
    try {
      assertPattern(p);
    } catch (err) {
      throw new UsageError(`decnet webhook add: --events: ${errorMessage(err)}`);
    }
  }
  const rate = args.options.rate === undefined ? null : Number(args.options.rate);
  if (rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > 60_000)) throw new UsageError('decnet webhook add: --rate must be a whole number of deliveries per minute from 1 to 60000');
  const secret = args.options.secret;
  if (secret !== undefined && (typeof secret !== 'string' || secret.length < 16 || secret.length > 128)) {
    throw new UsageError('decnet webhook add: --secret must be 16 to 128 characters (or leave it out to have one generated)');
  }

  const { checkWebhookUrl, checkDestination } = await import('../notify/ssrf-guard.ts');
  const { envBool } = await import('../core/env.ts');
  const allowPrivate = args.options['allow-private'] === true;
  let parsed: URL;
  try {
    parsed = checkWebhookUrl(url);
  } catch (err) {
    throw new UsageError(`decnet webhook add: --url: ${errorMessage(err)}`);
  }
  try {
    await checkDestination(parsed, { allowInternal: allowPrivate || envBool('DECNET_WEBHOOK_ALLOW_PRIVATE', false) });
  } catch (err) {
    if ((err as { kind?: string }).kind === 'refused-destination') throw new UsageError(`decnet webhook add: ${errorMessage(err)}`);
    process.stderr.write(`warning: cannot resolve ${parsed.hostname} now (${errorMessage(err)}); the destination is checked again at each delivery\n`);
  }

  const repo = await import('../db/webhooks/repo.ts');
  let name = typeof args.options.name === 'string' ? args.options.name : undefined;
  if (name === undefined) {
    const taken = new Set((await repo.listWebhooks(db)).map((w) => w.name));
    name = parsed.host;
    for (let n = 2; taken.has(name); n++) name = `${parsed.host}-${n}`;
  }
  let row: WebhookRow;
  try {
    row = await repo.createWebhook(db, { name, url: parsed.toString(), secret: secret as string | undefined, topic_patterns: events, allow_private: allowPrivate, rate_per_minute: rate });
  } catch (err) {
    if (/unique|UNIQUE|duplicate/.test(errorMessage(err))) throw new UsageError(`decnet webhook add: a subscription named ${JSON.stringify(name)} exists already; choose another --name`);
    throw err;
  }
  await announce({ reason: 'added', uuid: row.uuid, name: row.name });
  if (args.options.json) {
    const { secret: shown, ...rest } = row;
    out(JSON.stringify({ ...rest, secret: secret === undefined ? shown : undefined }, null, 2) + '\n');
    return 0;
  }
  out(`added webhook ${row.name} (${row.uuid}) → ${row.url}\n  events: ${row.topic_patterns.join(', ')}\n`);
  if (row.allow_private) out('  internal destinations allowed for this subscription\n');
  if (row.rate_per_minute) out(`  at most ${row.rate_per_minute} deliveries per minute\n`);
  if (parsed.protocol === 'http:') out('  warning: plain http:// exposes the events on the wire; prefer https://\n');
  if (secret === undefined) out(`  signing secret (shown once, store it in the receiver now): ${row.secret}\n`);
  return 0;
}

async function list(db: Database, json: boolean): Promise<number> {
  const repo = await import('../db/webhooks/repo.ts');
  const rows = (await repo.listWebhooks(db)).map(({ secret: _secret, ...rest }) => rest);
  if (json) {
    out(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  if (rows.length === 0) {
    out("no webhook subscriptions; add one with decnet webhook add --url URL --events 'attacker.>'\n");
    return 0;
  }
  const { renderTable } = await import('./table.ts');
  out(
    renderTable(
      ['ID', 'NAME', 'URL', 'EVENTS', 'STATE', 'FAILURES', 'LAST SUCCESS', 'LAST ERROR'],
      rows.map((r) => [
        r.uuid,
        r.name,
        r.url,
        r.topic_patterns.join(','),
        r.enabled ? 'enabled' : r.auto_disabled_at ? 'disabled (circuit)' : 'disabled',
        String(r.consecutive_failures),
        r.last_success_at ?? '-',
        (r.last_error ?? '-').slice(0, 60),
      ]),
      [5],
    ),
  );
  return 0;
}

async function test(db: Database, idOrName: string, json: boolean): Promise<number> {
  const row = await find(db, idOrName);
  const { webhookConfigFromEnv } = await import('../notify/webhook-worker.ts');
  const { deliverEvent } = await import('../notify/webhook-deliver.ts');
  const { uuidv7 } = await import('../core/ids.ts');
  const cfg = webhookConfigFromEnv();
  const event = { id: uuidv7(), topic: 'system.webhook.test', type: 'test.ping', ts: Date.now(), payload: { message: 'DECNET webhook test delivery', subscription: row.name, uuid: row.uuid } };
  const result = await deliverEvent({ url: row.url, secret: row.secret, policy: { allowInternal: cfg.allowPrivate || row.allow_private } }, event, { attempts: 1, baseDelayMs: cfg.baseDelayMs, timeoutMs: cfg.timeoutMs });
  if (json) out(JSON.stringify({ uuid: row.uuid, name: row.name, url: row.url, event_id: event.id, ...result }, null, 2) + '\n');
  else if (result.delivered) out(`delivered a signed test event to ${row.url}: HTTP ${result.status} in ${result.durationMs} ms\n`);
  else out(`test delivery to ${row.url} failed: ${result.error}${result.status ? '' : ` (after ${result.durationMs} ms)`}\n`);
  if (!row.enabled && !json) out(`note: this subscription is disabled; decnet webhook enable ${row.uuid} turns it back on\n`);
  return result.delivered ? 0 : 1;
}

async function enable(db: Database, idOrName: string): Promise<number> {
  const row = await find(db, idOrName);
  const repo = await import('../db/webhooks/repo.ts');
  await repo.updateWebhook(db, row.uuid, { enabled: true });
  await announce({ reason: 'enabled', uuid: row.uuid, name: row.name });
  out(`enabled webhook ${row.name} (${row.uuid}); its failure count is reset\n`);
  return 0;
}

async function remove(db: Database, idOrName: string): Promise<number> {
  const row = await find(db, idOrName);
  const repo = await import('../db/webhooks/repo.ts');
  await repo.deleteWebhook(db, row.uuid);
  await announce({ reason: 'removed', uuid: row.uuid, name: row.name });
  out(`removed webhook ${row.name} (${row.uuid})\n`);
  return 0;
}
