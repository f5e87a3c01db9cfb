// Webhooks domain: outbound subscriptions (SIEM egress) with their circuit-breaker state.
import type { Bool, Db, Json } from '../types.ts';
import { columnTypes, index } from '../ddl.ts';

export interface WebhookSubscriptionsTable {
  uuid: string;
  name: string;
  url: string;
  /** HMAC-SHA256 signing key. */
  secret: string;
  /** Bus subject patterns (NATS grammar). */
  topic_patterns: Json;
  enabled: Bool;
  /** The operator allows private, loopback and link-local destinations for this subscription. */
  allow_private: Bool;
  /** Deliveries per minute at most; null = the worker's default. */
  rate_per_minute: number | null;
  consecutive_failures: number;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
  auto_disabled_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhooksTables {
  webhook_subscriptions: WebhookSubscriptionsTable;
}

export const TABLES = ['webhook_subscriptions'] as const;

export async function createTables(db: Db): Promise<void> {
  const t = columnTypes(db.dialect);
  await db.kysely.schema
    .createTable('webhook_subscriptions')
    .addColumn('uuid', t.text, (c) => c.primaryKey())
    .addColumn('name', t.text, (c) => c.notNull().unique())
    .addColumn('url', t.text, (c) => c.notNull())
    .addColumn('secret', t.text, (c) => c.notNull())
    .addColumn('topic_patterns', t.json, (c) => c.notNull().defaultTo('[]'))
    .addColumn('enabled', t.bool, (c) => c.notNull().defaultTo(true))
    .addColumn('allow_private', t.bool, (c) => c.notNull().defaultTo(false))
    .addColumn('rate_per_minute', t.int)
    .addColumn('consecutive_failures', t.int, (c) => c.notNull().defaultTo(0))
    .addColumn('last_success_at', t.text)
    .addColumn('last_failure_at', t.text)
    .addColumn('last_error', t.text)
    .addColumn('auto_disabled_at', t.text)
    .addColumn('created_at', t.text, (c) => c.notNull())
    .addColumn('updated_at', t.text, (c) => c.notNull())
    .execute();
  await index(db, 'webhook_subscriptions', ['enabled']);
}
