// What a webhook receiver gets, and how it checks it. The body is the bus envelope as canonical
// JSON (keys sorted at every level, no whitespace, `ts` as ISO-8601 UTC), so the same event always
// has the same bytes. The signature covers the timestamp and the body:
//   X-DECNET-Timestamp: <unix seconds>
//   X-DECNET-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
// A receiver recomputes it over the exact body bytes and refuses stale timestamps (replays).
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-decnet-signature';
export const TIMESTAMP_HEADER = 'x-decnet-timestamp';
export const EVENT_ID_HEADER = 'x-decnet-event-id';
export const EVENT_TOPIC_HEADER = 'x-decnet-event-topic';
export const USER_AGENT = 'decnet-webhook/1.0';

/** The envelope fields a delivery carries. */
export interface WebhookEvent {
  id: string;
  topic: string;
  type: string;
  /** Epoch milliseconds or ISO-8601. */
  ts: number | string;
  payload: Record<string, unknown>;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

/** JSON with object keys sorted at every level and no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function webhookBody(event: WebhookEvent): string {
  const ts = typeof event.ts === 'number' ? new Date(event.ts).toISOString() : event.ts;
  return canonicalJson({ id: event.id, payload: event.payload, topic: event.topic, ts, type: event.type, v: 1 });
}

export function signWebhook(secret: string, timestamp: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export interface VerifyOptions {
  /** Largest accepted age (or clock skew) of the timestamp, in seconds (default 300). */
  toleranceS?: number;
  nowMs?: number;
}

/** A receiver's check: the signature matches and the timestamp is recent. Constant-time compare. */
export function verifyWebhook(secret: string, timestamp: string | undefined, body: string | Buffer, signature: string | undefined, opts: VerifyOptions = {}): boolean {
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const age = Math.abs((opts.nowMs ?? Date.now()) / 1000 - Number(timestamp));
  if (age > (opts.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
