// Webhooks repository: subscriptions and the delivery outcome bookkeeping behind the circuit breaker.
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { Db } from '../types.ts';
import type { WebhooksTables } from './schema.ts';
import { DataError, bool, fromBool, fromJson, json, name, nowIso, num, optInt, optText, stringList, text } from '../values.ts';

export interface WebhookInput {
  name: string;
  url: string;
  /** HMAC key; a random 32-byte key is minted when omitted. */
  secret?: string;
  topic_patterns: string[];
  enabled?: boolean;
  /** Allow private, loopback and link-local destinations (an operator's explicit choice). */
  allow_private?: boolean;
  /** Deliveries per minute at most (1-60000); null or absent: the worker's default. */
  rate_per_minute?: number | null;
}

export interface WebhookRow {
  uuid: string;
  name: string;
  url: string;
  secret: string;
  topic_patterns: string[];
  enabled: boolean;
  allow_private: boolean;
  rate_per_minute: number | null;
  consecutive_failures: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
  auto_disabled_at: string | null;
  created_at: string;
  updated_at: string;
}

const q = (db: Db) => db.kysely as Kysely<WebhooksTables>;
const PATTERN = /^(\*|>|[^.*>\s]+)(\.(\*|>|[^.*>\s]+))*$/;

function checkUrl(value: unknown): string {
  const s = text('url', value, 'url');
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new DataError('url', `${JSON.stringify(s)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DataError('url', 'must be http:// or https://');
  if (url.username || url.password) throw new DataError('url', 'must not carry credentials; use the signing secret');
  return url.toString();
}

/** A signing secret: 16-128 characters, so it cannot be guessed by brute force. */
function checkSecret(value: unknown): string {
  const s = text('secret', value, 'hash');
  if (s.length < 16) throw new DataError('secret', `is ${s.length} characters long; use at least 16 (or omit it to have one generated)`);
  return s;
}

function checkPatterns(value: unknown): string[] {
  const patterns = stringList('topic_patterns', value, 'name', 100);
  if (patterns.length === 0) throw new DataError('topic_patterns', 'needs at least one bus subject pattern (e.g. attacker.>)');
  patterns.forEach((p, i) => {
    if (!PATTERN.test(p) || (p.includes('>') && !p.endsWith('>'))) throw new DataError(`topic_patterns[${i}]`, `${JSON.stringify(p)} is not a subject pattern (tokens separated by '.', '*' for one token, '>' last)`);
  });
  return patterns;
}

function decode(r: Record<string, unknown>): WebhookRow {
  return {
    ...(r as unknown as WebhookRow),
    enabled: fromBool(r.enabled),
    allow_private: fromBool(r.allow_private),
    rate_per_minute: r.rate_per_minute === null || r.rate_per_minute === undefined ? null : num(r.rate_per_minute),
    consecutive_failures: num(r.consecutive_failures),
    topic_patterns: fromJson(r.topic_patterns, []),
  };
}

export async function createWebhook(db: Db, w: WebhookInput): Promise<WebhookRow> {
  const now = nowIso();
  const row = {
    uuid: uuidv7(),
    name: name('name', w.name),
    url: checkUrl(w.url),
    secret: w.secret === undefined ? randomBytes(32).toString('base64url') : checkSecret(w.secret),
    topic_patterns: json('topic_patterns', checkPatterns(w.topic_patterns)),
    enabled: w.enabled === undefined ? true : bool('enabled', w.enabled),
    allow_private: w.allow_private === undefined ? false : bool('allow_private', w.allow_private),
    rate_per_minute: optInt('rate_per_minute', w.rate_per_minute, 1, 60_000),
    consecutive_failures: 0,
    last_success_at: null,
    last_failure_at: null,
    last_error: null,
    auto_disabled_at: null,
    created_at: now,
    updated_at: now,
  };
  await q(db).insertInto('webhook_subscriptions').values(row).execute();
  return decode(row as Record<string, unknown>);
}

export async function getWebhook(db: Db, uuid: string): Promise<WebhookRow | undefined> {
  const row = await q(db).selectFrom('webhook_subscriptions').selectAll().where('uuid', '=', name('uuid', uuid)).executeTakeFirst();
  return row ? decode(row as Record<string, unknown>) : undefined;
}

export async function listWebhooks(db: Db, options: { enabledOnly?: boolean } = {}): Promise<WebhookRow[]> {
  let query = q(db).selectFrom('webhook_subscriptions').selectAll();
  if (options.enabledOnly) query = query.where('enabled', '=', true);
  return (await query.orderBy('name').execute()).map((r) => decode(r as Record<string, unknown>));
}

/** Changes a subscription; enabling it again clears the circuit breaker. */
export async function updateWebhook(db: Db, uuid: string, w: Partial<WebhookInput>): Promise<boolean> {
  const set: Record<string, unknown> = { updated_at: nowIso() };
  if (w.name !== undefined) set.name = name('name', w.name);
  if (w.url !== undefined) set.url = checkUrl(w.url);
  if (w.secret !== undefined) set.secret = checkSecret(w.secret);
  if (w.topic_patterns !== undefined) set.topic_patterns = json('topic_patterns', checkPatterns(w.topic_patterns));
  if (w.allow_private !== undefined) set.allow_private = bool('allow_private', w.allow_private);
  if (w.rate_per_minute !== undefined) set.rate_per_minute = optInt('rate_per_minute', w.rate_per_minute, 1, 60_000);
  if (w.enabled !== undefined) {
    set.enabled = bool('enabled', w.enabled);
    if (w.enabled) Object.assign(set, { consecutive_failures: 0, auto_disabled_at: null });
  }
  return (await q(db).updateTable('webhook_subscriptions').set(set).where('uuid', '=', name('uuid', uuid)).executeTakeFirst()).numUpdatedRows > 0n;
}

export async function deleteWebhook(db: Db, uuid: string): Promise<boolean> {
  return (await q(db).deleteFrom('webhook_subscriptions').where('uuid', '=', name('uuid', uuid)).executeTakeFirst()).numDeletedRows > 0n;
}

export async function recordWebhookSuccess(db: Db, uuid: string): Promise<void> {
  const now = nowIso();
  await q(db).updateTable('webhook_subscriptions').set({ consecutive_failures: 0, last_success_at: now, last_error: null }).where('uuid', '=', name('uuid', uuid)).execute();
}

/** Counts a failed delivery; returns the consecutive-failure count after it. */
export async function recordWebhookFailure(db: Db, uuid: string, error: string): Promise<number> {
  const row = await q(db)
    .updateTable('webhook_subscriptions')
    .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1), last_failure_at: nowIso(), last_error: optText('error', error.slice(0, 2000), 'text') }))
    .where('uuid', '=', name('uuid', uuid))
    .returning('consecutive_failures')
    .executeTakeFirst();
  return num(row?.consecutive_failures);
}

/** Opens the circuit: disables the subscription and records when. */
export async function tripWebhookCircuit(db: Db, uuid: string): Promise<void> {
  const now = nowIso();
  await q(db).updateTable('webhook_subscriptions').set({ enabled: false, auto_disabled_at: now, updated_at: now }).where('uuid', '=', name('uuid', uuid)).execute();
}
