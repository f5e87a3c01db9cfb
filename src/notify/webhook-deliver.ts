// One webhook delivery: sign, POST, and retry transient failures. Up to `attempts` tries (4 by
// default), waiting base × 2^n (1, 2, 4 s) × a jitter in [0.8, 1.2) between them; each try has a
// deadline (10 s). Network errors, timeouts, 5xx and 429 are retried; other statuses (4xx, a
// redirect, which is never followed) and a refused destination end the delivery at once.
import { HttpError, httpSend } from '../core/http-client.ts';
import { EVENT_ID_HEADER, EVENT_TOPIC_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, USER_AGENT, signWebhook, webhookBody, type WebhookEvent } from './webhook-sign.ts';
import { checkAddress, checkWebhookUrl, guardedLookup, literalAddress, type DestinationPolicy } from './ssrf-guard.ts';

export interface WebhookTarget {
  url: string;
  secret: string;
  policy: DestinationPolicy;
}

export interface DeliveryOptions {
  attempts: number;
  baseDelayMs: number;
  timeoutMs: number;
  /** Longest wait a Retry-After header may ask for between two tries. */
  maxDelayMs?: number;
  signal?: AbortSignal;
  /** Jitter source (tests pass a fixed one). */
  random?: () => number;
}

export interface AttemptResult {
  status?: number;
  error?: string;
  retryable: boolean;
  retryAfterMs?: number;
}

export interface DeliveryResult {
  delivered: boolean;
  status?: number;
  attempts: number;
  error?: string;
  durationMs: number;
}

/** Enough of a receiver's answer to log; the rest is discarded. */
const MAX_RESPONSE = 8 * 1024;

export const DEFAULT_DELIVERY: DeliveryOptions = { attempts: 4, baseDelayMs: 1000, timeoutMs: 10_000, maxDelayMs: 30_000 };

function retryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d{1,6}$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** One POST of an already-serialised body. */
export async function attemptDelivery(target: WebhookTarget, event: Pick<WebhookEvent, 'id' | 'topic'>, body: string, timeoutMs: number, signal?: AbortSignal): Promise<AttemptResult> {
  let url: URL;
  try {
    url = checkWebhookUrl(target.url);
    const literal = literalAddress(url);
    if (literal) checkAddress(literal, target.policy); // no DNS involved: check the literal itself
  } catch (err) {
    return { error: (err as Error).message, retryable: false };
  }
  const timestamp = String(Math.floor(Date.now() / 1000));
  try {
    const res = await httpSend({
      url,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signWebhook(target.secret, timestamp, body),
        [EVENT_ID_HEADER]: event.id,
        [EVENT_TOPIC_HEADER]: event.topic,
      },
      body,
      timeoutMs,
      maxResponseBytes: MAX_RESPONSE,
      truncate: true,
      lookup: guardedLookup(target.policy),
      signal,
    });
    if (res.status >= 200 && res.status < 300) return { status: res.status, retryable: false };
    const retryable = res.status >= 500 || res.status === 429;
    const why = res.status >= 300 && res.status < 400 ? `HTTP ${res.status} (redirects are not followed)` : `HTTP ${res.status}`;
    return { status: res.status, error: why, retryable, retryAfterMs: retryable ? retryAfter(res.headers['retry-after']) : undefined };
  } catch (err) {
    const kind = err instanceof HttpError ? err.kind : 'network';
    return { error: (err as Error).message, retryable: kind === 'network' || kind === 'timeout' };
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Delivers one event with retries; never throws. */
export async function deliverEvent(target: WebhookTarget, event: WebhookEvent, opts: DeliveryOptions = DEFAULT_DELIVERY): Promise<DeliveryResult> {
  const started = Date.now();
  const body = webhookBody(event);
  const random = opts.random ?? Math.random;
  let last: AttemptResult = { retryable: false, error: 'not attempted' };
  let attempt = 0;
  while (attempt < opts.attempts) {
    attempt++;
    last = await attemptDelivery(target, event, body, opts.timeoutMs, opts.signal);
    if (!last.error) return { delivered: true, status: last.status, attempts: attempt, durationMs: Date.now() - started };
    if (!last.retryable || attempt >= opts.attempts || opts.signal?.aborted) break;
    const backoff = opts.baseDelayMs * 2 ** (attempt - 1) * (0.8 + 0.4 * random());
    const wait = Math.min(opts.maxDelayMs ?? 30_000, Math.max(backoff, last.retryAfterMs ?? 0));
    if (!(await pause(wait, opts.signal))) break;
  }
  return { delivered: false, status: last.status, attempts: attempt, error: last.error, durationMs: Date.now() - started };
}
