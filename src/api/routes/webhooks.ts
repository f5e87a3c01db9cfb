// Webhook subscriptions (admin only). The `webhook` worker delivers matching bus events, signed with
// the subscription's secret; every change here is announced on system.webhook.subscriptions_changed
// so it reloads at once. The secret is shown once, when it is created.
import { s } from '../http/schema.ts';
import { created, noContent, route, type ApiRequest, type RouteDef } from '../http/route.ts';
import { HttpError, conflict, notFound, tooManyRequests } from '../http/errors.ts';
import { API, UUID, dbOf } from './common.ts';
import { topics } from '../../bus/topics.ts';
import { envBool } from '../../core/env.ts';
import { uuidv7 } from '../../core/ids.ts';
import type { WebhookRow } from '../../db/webhooks/repo.ts';

const TAG = 'Webhooks';

/** Friendly event groups and the bus patterns they stand for. */
export const SIMPLE_EVENTS: Record<string, string[]> = {
  AttackerDetail: ['attacker.>'],
  DeckyStatus: ['decky.*.state', 'decky.*.traffic'],
  SystemStatus: ['system.>'],
  Credentials: ['credential.>'],
  Techniques: ['ttp.tagged'],
};

const PATTERN = s.string({
  minLength: 1,
  maxLength: 128,
  pattern: '^(\\*|>|[^.*>\\s]+)(\\.(\\*|>|[^.*>\\s]+))*$',
  description: "bus subject pattern: tokens separated by '.', '*' matches one token, '>' the rest (last only)",
});

const FIELDS = {
  name: s.string({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]{1,64}$' }),
  url: s.string({ minLength: 8, maxLength: 2048, pattern: '^https?://', description: 'http:// or https:// URL that receives the events' }),
  secret: s.string({ minLength: 16, maxLength: 128, description: 'HMAC-SHA256 key (generated when omitted)' }),
  simple_events: s.array(s.enum(Object.keys(SIMPLE_EVENTS)), 8, { uniqueItems: true, description: 'event groups: ' + Object.entries(SIMPLE_EVENTS).map(([k, v]) => `${k} = ${v.join(', ')}`).join('; ') }),
  topic_patterns: s.array(PATTERN, 50, { description: 'raw bus subject patterns' }),
  enabled: s.bool(),
  allow_private: s.bool({ description: 'allow a receiver on a loopback, private or link-local address (otherwise refused: SSRF guard)' }),
  rate_per_minute: s.int(1, 60_000, { nullable: true, description: 'deliveries per minute at most (null: the worker default)' }),
};

const WEBHOOK = s.shape({
  uuid: s.string({ maxLength: 36 }),
  name: s.string({ maxLength: 64 }),
  url: s.string({ maxLength: 2048 }),
  topic_patterns: s.array(s.string({ maxLength: 128 }), 100),
  enabled: s.bool(),
  allow_private: s.bool(),
  rate_per_minute: s.int(1, 60_000, { nullable: true }),
  consecutive_failures: s.int(0, Number.MAX_SAFE_INTEGER),
  last_success_at: s.string({ maxLength: 40, nullable: true }),
  last_failure_at: s.string({ maxLength: 40, nullable: true }),
  last_error: s.string({ maxLength: 2000, nullable: true }),
  auto_disabled_at: s.string({ maxLength: 40, nullable: true }),
  created_at: s.string({ maxLength: 40 }),
  updated_at: s.string({ maxLength: 40 }),
  warnings: s.array(s.string({ maxLength: 256 }), 8),
});

function view(row: WebhookRow): Record<string, unknown> {
  const { secret: _secret, ...rest } = row;
  const warnings: string[] = [];
  if (row.url.startsWith('http://')) warnings.push('plain http:// sends events unencrypted; prefer https://');
  return { ...rest, warnings };
}

function invalid(at: string, message: string): HttpError {
  return new HttpError(422, `${at}: ${message}`, { extra: { errors: [{ at, message }] } });
}

/**
 * Refuses a receiver URL the webhook worker would refuse to connect to (its SSRF guard): wrong
 * scheme, credentials, or an address literal in a loopback, private, link-local or reserved range
 * unless internal receivers are allowed. Host names are checked again on every connection by the
 * worker, against the addresses they resolve to then.
 */
export async function checkDestination(raw: string, allowInternal: boolean): Promise<void> {
  const { checkWebhookUrl, checkAddress, literalAddress } = await import('../../notify/ssrf-guard.ts');
  try {
    const url = checkWebhookUrl(raw);
    const literal = literalAddress(url);
    const internal = allowInternal || envBool('DECNET_WEBHOOK_ALLOW_PRIVATE', false);
    if (literal) checkAddress(literal, { allowInternal: internal });
    else if (!internal && /(^|\.)localhost$/i.test(url.hostname)) throw new Error(`${url.hostname} is this machine; set allow_private to deliver there`);
  } catch (err) {
    throw invalid('body.url', (err as Error).message);
  }
}

function patternsOf(simple: string[] | undefined, raw: string[] | undefined): string[] {
  const out: string[] = [];
  for (const p of [...(simple ?? []).flatMap((k) => SIMPLE_EVENTS[k] ?? []), ...(raw ?? [])]) if (!out.includes(p)) out.push(p);
  return out;
}

function checkPatterns(patterns: string[]): void {
  if (patterns.length === 0) throw invalid('body.topic_patterns', 'a webhook needs at least one event: give simple_events or topic_patterns');
  patterns.forEach((p, i) => {
    if (p.includes('>') && !p.endsWith('>')) throw invalid(`body.topic_patterns[${i}]`, "'>' may only be the last token");
  });
}

function limit(req: ApiRequest): void {
  const verdict = req.ctx.limits.webhookWrites.takeAll([`user:${req.principal!.uuid}`]);
  if (!verdict.ok) throw tooManyRequests(`too many webhook changes; try again in ${Math.ceil(verdict.retryAfterS)} s`, verdict.retryAfterS);
}

function announce(req: ApiRequest, action: string, uuid: string): void {
  try {
    req.ctx.bus.publish(topics.webhookSubscriptionsChanged, { action, uuid, by: req.principal!.username, ts: Date.now() }, 'subscriptions_changed');
  } catch (err) {
    req.ctx.log.warn('could not announce the webhook change; the webhook worker picks it up at its next reload', { error: (err as Error).message });
  }
}

async function nameTaken(req: ApiRequest, name: string, except?: string): Promise<boolean> {
  const { listWebhooks } = await import('../../db/webhooks/repo.ts');
  return (await listWebhooks(await dbOf(req))).some((w) => w.name === name && w.uuid !== except);
}

const BY_UUID = { uuid: UUID };

export const webhookRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/webhooks`,
    auth: 'admin',
    tag: TAG,
    summary: 'Every webhook subscription (secrets are never shown again)',
    responses: { 200: { description: 'Subscriptions by name', schema: s.array(WEBHOOK, 10_000) } },
    handler: async (req) => {
      const { listWebhooks } = await import('../../db/webhooks/repo.ts');
      return (await listWebhooks(await dbOf(req))).map(view);
    },
  }),
  route({
    method: 'POST',
    path: `${API}/webhooks`,
    auth: 'admin',
    tag: TAG,
    summary: 'Subscribe a URL to bus events; the answer shows the signing secret this once',
    body: s.object({ ...FIELDS, enabled: { ...FIELDS.enabled, default: true } }, { required: ['name', 'url'] }),
    responses: { 201: { description: 'Created', schema: s.shape({ ...WEBHOOK.properties, secret: s.string({ maxLength: 128 }) }) }, 409: { description: 'The name is taken' }, 429: { description: 'Too many changes' } },
    handler: async (req) => {
      limit(req);
      const b = req.body as { name: string; url: string; secret?: string; simple_events?: string[]; topic_patterns?: string[]; enabled: boolean; allow_private?: boolean; rate_per_minute?: number | null };
      await checkDestination(b.url, b.allow_private === true);
      const patterns = patternsOf(b.simple_events, b.topic_patterns);
      checkPatterns(patterns);
      if (await nameTaken(req, b.name)) throw conflict(`a webhook named ${JSON.stringify(b.name)} already exists`);
      const { createWebhook } = await import('../../db/webhooks/repo.ts');
      const row = await createWebhook(await dbOf(req), { name: b.name, url: b.url, secret: b.secret, topic_patterns: patterns, enabled: b.enabled, allow_private: b.allow_private, rate_per_minute: b.rate_per_minute });
      announce(req, 'created', row.uuid);
      req.ctx.log.info('webhook created', { name: row.name, by: req.principal!.username });
      return created({ ...view(row), secret: row.secret });
    },
  }),
  route({
    method: 'GET',
    path: `${API}/webhooks/{uuid}`,
    auth: 'admin',
    tag: TAG,
    summary: 'One webhook subscription',
    params: BY_UUID,
    responses: { 200: { description: 'The subscription', schema: WEBHOOK } },
    handler: async (req) => {
      const { getWebhook } = await import('../../db/webhooks/repo.ts');
      const row = await getWebhook(await dbOf(req), req.params.uuid);
      if (!row) throw notFound('no such webhook');
      return view(row);
    },
  }),
  route({
    method: 'PATCH',
    path: `${API}/webhooks/{uuid}`,
    auth: 'admin',
    tag: TAG,
    summary: 'Change a subscription (enabling it again clears its failure count)',
    description: 'simple_events and topic_patterns, when either is given, replace the subscription\'s patterns together.',
    params: BY_UUID,
    body: s.object(FIELDS, { maxProperties: 8 }),
    responses: { 200: { description: 'Changed', schema: WEBHOOK }, 409: { description: 'The name is taken' }, 429: { description: 'Too many changes' } },
    handler: async (req) => {
      limit(req);
      const { getWebhook, updateWebhook } = await import('../../db/webhooks/repo.ts');
      const db = await dbOf(req);
      const uuid = req.params.uuid;
      const current = await getWebhook(db, uuid);
      if (!current) throw notFound('no such webhook');
      const b = req.body as Partial<{ name: string; url: string; secret: string; simple_events: string[]; topic_patterns: string[]; enabled: boolean; allow_private: boolean; rate_per_minute: number | null }>;
      const change: Record<string, unknown> = {};
      if (b.name !== undefined) {
        if (await nameTaken(req, b.name, uuid)) throw conflict(`a webhook named ${JSON.stringify(b.name)} already exists`);
        change.name = b.name;
      }
      if (b.url !== undefined || b.allow_private !== undefined) {
        await checkDestination(b.url ?? current.url, b.allow_private ?? current.allow_private);
        if (b.url !== undefined) change.url = b.url;
        if (b.allow_private !== undefined) change.allow_private = b.allow_private;
      }
      if (b.rate_per_minute !== undefined) change.rate_per_minute = b.rate_per_minute;
      if (b.secret !== undefined) change.secret = b.secret;
      if (b.simple_events !== undefined || b.topic_patterns !== undefined) {
        const patterns = patternsOf(b.simple_events, b.topic_patterns);
        checkPatterns(patterns);
        change.topic_patterns = patterns;
      }
      if (b.enabled !== undefined) change.enabled = b.enabled;
      await updateWebhook(db, uuid, change);
      announce(req, 'updated', uuid);
      return view((await getWebhook(db, uuid))!);
    },
  }),
  route({
    method: 'POST',
    path: `${API}/webhooks/{uuid}/test`,
    auth: 'admin',
    tag: TAG,
    summary: 'Send one signed test.ping event to the receiver now (one attempt, no retries)',
    params: BY_UUID,
    responses: {
      200: { description: 'What the receiver answered', schema: s.shape({ delivered: s.bool(), status_code: s.int(100, 599, { nullable: true }), error: s.string({ maxLength: 2048, nullable: true }), duration_ms: s.int(0, 60_000) }) },
      429: { description: 'Too many changes or tests' },
    },
    handler: async (req) => {
      limit(req);
      const { getWebhook } = await import('../../db/webhooks/repo.ts');
      const row = await getWebhook(await dbOf(req), req.params.uuid);
      if (!row) throw notFound('no such webhook');
      const { deliverEvent } = await import('../../notify/webhook-deliver.ts');
      const result = await deliverEvent(
        { url: row.url, secret: row.secret, policy: { allowInternal: row.allow_private || envBool('DECNET_WEBHOOK_ALLOW_PRIVATE', false) } },
        { id: uuidv7(), topic: 'test.ping', type: 'ping', ts: Date.now(), payload: { message: 'test delivery from DECNET', webhook: row.name, requested_by: req.principal!.username } },
        { attempts: 1, baseDelayMs: 0, timeoutMs: 10_000 },
      );
      return { delivered: result.delivered, status_code: result.status ?? null, error: result.error ?? null, duration_ms: result.durationMs };
    },
  }),
  route({
    method: 'DELETE',
    path: `${API}/webhooks/{uuid}`,
    auth: 'admin',
    tag: TAG,
    summary: 'Delete a subscription',
    params: BY_UUID,
    responses: { 204: { description: 'Deleted' } },
    handler: async (req) => {
      limit(req);
      const { deleteWebhook } = await import('../../db/webhooks/repo.ts');
      if (!(await deleteWebhook(await dbOf(req), req.params.uuid))) throw notFound('no such webhook');
      announce(req, 'deleted', req.params.uuid);
      return noContent();
    },
  }),
];
