// The one Bus interface every transport implements (DESIGN §3). Types only: importing this
// module loads no transport.

export type Payload = Record<string, unknown>;

/** What a subscriber receives. `id` (UUIDv7) and `ts` (epoch milliseconds) are assigned by the
 * broker (or by the publishing client where there is no broker of ours, as with NATS). */
export interface Envelope<P = Payload> {
  v: 1;
  id: string;
  topic: string;
  type: string;
  ts: number;
  payload: P;
}

export interface SubscribeOptions {
  /** Capacity of this subscriber's queue; when full the oldest event is dropped and counted. Default 1024. */
  queueSize?: number;
  /** Aborting closes the subscription. */
  signal?: AbortSignal;
}

/** A subscriber's bounded queue, consumed with `for await` or `next()`. */
export interface Subscription extends AsyncIterable<Envelope> {
  readonly pattern: string;
  /** Events dropped (oldest first) because the queue was full. */
  readonly drops: number;
  /** Events waiting in the queue. */
  readonly pending: number;
  /** Resolves with the next event, or undefined once the subscription is closed. */
  next(): Promise<Envelope | undefined>;
  /** The next queued event without waiting, or undefined when none is queued (lets a consumer drain a burst synchronously). */
  tryNext(): Envelope | undefined;
  close(): void;
}

export interface BusStats {
  connected: boolean;
  published: number;
  received: number;
  /** Sum of drops over this member's subscriptions, plus frames dropped while disconnected. */
  drops: number;
  reconnects: number;
}

/** A member's view of the bus. Several members (workers of one host) may share one connection;
 * none ever receives its own publications. */
export interface Bus {
  readonly member: string;
  /** Fire-and-forget. Throws only for an invalid subject or a payload too large or not JSON-serialisable. */
  publish(topic: string, payload: Payload, type?: string): void;
  subscribe(pattern: string, opts?: SubscribeOptions): Subscription;
  stats(): BusStats;
  /** Closes this member's subscriptions (and the connection if this member owns it). */
  close(): Promise<void>;
}

/** A transport connection shared by the members of one host. */
export interface BusConnection {
  readonly url: string;
  /** A Bus view for one member (worker). Members are distinguished for the no-echo rule. */
  member(name: string): Bus;
  connected(): boolean;
  /** Resolves true once the transport has taken in everything sent before (subscriptions included),
   * false if that could not be confirmed within `timeoutMs` (default 5000). Never rejects. */
  flush(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export const DEFAULT_QUEUE_SIZE = 1024;
export const MAX_BODY_BYTES = 1024 * 1024;
