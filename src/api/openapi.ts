// The OpenAPI 3.1 document, generated from the route table: paths, parameters and bodies come from
// the same schemas the server validates with, security from each route's auth level, and the
// error answers every route can give are added here so no route forgets them.
import type { RouteDef } from './http/route.ts';
import type { Schema } from './http/schema.ts';

const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    detail: { type: 'string', description: 'What went wrong and what to do about it' },
    errors: { type: 'array', items: { type: 'object', properties: { at: { type: 'string' }, message: { type: 'string' } } }, description: 'Per-field problems (validation errors only)' },
    error_id: { type: 'string', description: 'Reference of a server error in the API log' },
  },
  required: ['detail'],
};

/** A schema as OpenAPI 3.1 (JSON Schema 2020-12) expects it: `nullable` becomes a type list, local flags go. */
export function toJsonSchema(schema: Schema): Record<string, unknown> {
  const { nullable, allowControl, ...rest } = schema as Schema & { allowControl?: boolean };
  void allowControl;
  const out: Record<string, unknown> = { ...rest };
  if (rest.type === 'array') out.items = toJsonSchema(rest.items);
  if (rest.type === 'object') {
    out.properties = Object.fromEntries(Object.entries(rest.properties).map(([k, v]) => [k, toJsonSchema(v)]));
    if (typeof rest.additionalProperties === 'object') out.additionalProperties = toJsonSchema(rest.additionalProperties);
    if (rest.required && rest.required.length === 0) delete out.required;
  }
  if (nullable && rest.type) out.type = [rest.type, 'null'];
  return out;
}

function errorResponse(description: string): Record<string, unknown> {
  return { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
}

function operationId(r: RouteDef): string {
  const words = r.path
    .replace(/^\/api\/v1\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith('{') ? `by_${seg.slice(1, -1)}` : seg))
    .join('_')
    .replace(/[^A-Za-z0-9_]/g, '_');
  return `${r.method.toLowerCase()}_${words || 'root'}`;
}

export function buildOpenApi(routes: readonly RouteDef[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const parameters: Record<string, unknown>[] = [];
    for (const [name, schema] of Object.entries(r.params ?? {})) parameters.push({ name, in: 'path', required: true, schema: toJsonSchema(schema), ...(schema.description ? { description: schema.description } : {}) });
    for (const [name, schema] of Object.entries(r.query ?? {})) {
      parameters.push({
        name,
        in: 'query',
        required: r.requiredQuery?.includes(name) ?? false,
        schema: toJsonSchema(schema),
        ...(schema.type === 'array' ? { style: 'form', explode: true } : {}),
        ...(schema.description ? { description: schema.description } : {}),
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, doc] of Object.entries(r.responses)) {
      const contentType = doc.contentType ?? 'application/json';
      responses[status] = doc.schema || doc.contentType ? { description: doc.description, content: { [contentType]: { schema: doc.schema ? toJsonSchema(doc.schema) : {} } } } : { description: doc.description };
    }
    const hasInput = parameters.length > 0 || r.body !== undefined;
    if (hasInput) responses['422'] ??= errorResponse('A parameter or the body does not match the schema');
    if (r.body) {
      responses['400'] ??= errorResponse('The body is not valid JSON, or the endpoint takes no body');
      responses['413'] ??= errorResponse('The body is too large');
      responses['415'] ??= errorResponse('The body is not JSON');
    }
    if (r.auth !== 'public') {
      responses['401'] ??= errorResponse(r.auth === 'ticket' ? 'The stream ticket is missing, used or expired' : 'No valid access token');
      if (r.auth !== 'self') responses['403'] ??= errorResponse(r.auth === 'admin' ? 'Needs the admin role, or the password must be changed first' : 'The password must be changed first');
    }
    if (r.params && Object.keys(r.params).length > 0) responses['404'] ??= errorResponse('No such resource');
    responses['500'] ??= errorResponse('Server error (see error_id in the API log)');
    const security = r.auth === 'public' || r.auth === 'ticket' ? [] : [{ bearerAuth: [] }];
    const op: Record<string, unknown> = {
      operationId: operationId(r),
      summary: r.summary,
      tags: [r.tag],
      security,
      'x-decnet-auth': r.auth,
      parameters,
      responses,
    };
    if (r.description) op.description = r.description;
    if (r.body) op.requestBody = { required: (r.body.required?.length ?? 0) > 0, content: { 'application/json': { schema: toJsonSchema(r.body) } } };
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'DECNET API',
      version: info.version,
      description:
        'REST API of a DECNET honeypot fleet. Log in with POST /api/v1/auth/login and send the access token as "Authorization: Bearer <token>". ' +
        'Lists return {total, limit, offset, data}. Errors return {detail}. Live events: POST /api/v1/stream/ticket, then GET /api/v1/stream?ticket=….',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: ERROR_SCHEMA },
    },
  };
}
