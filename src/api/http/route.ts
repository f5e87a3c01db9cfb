// A route is data: method, path pattern, who may call it, the schemas of its inputs and a handler.
// The server checks everything the data says before the handler runs, and the OpenAPI document is
// generated from the same data, so the two cannot drift apart.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectSchema, Schema } from './schema.ts';
import type { Principal } from '../auth/principal.ts';
import type { ApiContext } from '../context.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * - public: no credentials (login, health, the OpenAPI document)
 * - ticket: a single-use stream ticket in the query (EventSource cannot send headers)
 * - self: any valid token, even one whose user must still change the password (me, logout, change-password)
 * - viewer: viewer or admin, password changed
 * - admin: admin, password changed
 */
export type AuthLevel = 'public' | 'ticket' | 'self' | 'viewer' | 'admin';

export interface ResponseDoc {
  description: string;
  schema?: Schema;
  /** Media type when not JSON (downloads, event streams). */
  contentType?: string;
}

export interface ApiRequest {
  readonly params: Record<string, string>;
  /** Checked query parameters (types from the route's schemas, defaults applied). */
  readonly query: Record<string, any>;
  /** The checked JSON body, or undefined for routes without one. */
  readonly body: any;
  /** The caller; undefined only on public routes. */
  readonly principal: Principal | undefined;
  /** TCP peer address (X-Forwarded-For is not trusted). */
  readonly ip: string;
  readonly ctx: ApiContext;
  readonly raw: IncomingMessage;
  readonly res: ServerResponse;
}

/** A handler's answer when it is not a plain 200 JSON body. */
export class Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, body?: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** A JSON body serialised ahead of time (a cached answer is written as it is). */
export class RawJson {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

export const created = (body: unknown) => new Reply(201, body);
export const accepted = (body: unknown) => new Reply(202, body);
export const noContent = () => new Reply(204);

/** A JSON document offered as a file download. */
export function download(filename: string, body: unknown): Reply {
  return new Reply(200, body, { 'content-disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"` });
}

/** The handler wrote the response itself (event streams). */
export const HANDLED = Symbol('handled');

export interface RouteDef {
  readonly method: Method;
  /** Full path with {name} parameters, e.g. /api/v1/attackers/{uuid}. */
  readonly path: string;
  readonly auth: AuthLevel;
  readonly summary: string;
  readonly tag: string;
  readonly description?: string;
  readonly params?: Readonly<Record<string, Schema>>;
  readonly query?: Readonly<Record<string, Schema>>;
  readonly requiredQuery?: readonly string[];
  readonly body?: ObjectSchema;
  /** Largest accepted body in bytes (default 64 KiB). */
  readonly maxBodyBytes?: number;
  /** Documented answers; the generic error answers are added by the OpenAPI generator. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  handler(req: ApiRequest): Promise<unknown> | unknown;
}

export function route(def: RouteDef): RouteDef {
  return Object.freeze(def);
}
