// The route table of the API, in one place: every domain's routes plus the OpenAPI document that
// describes them. Importing this module loads route definitions only (data and small handlers);
// each handler imports its repositories when it first runs.
import type { RouteDef } from './http/route.ts';
import { buildOpenApi } from './openapi.ts';
import { authRoutes } from './routes/auth.ts';
import { userRoutes } from './routes/users.ts';
import { logRoutes } from './routes/logs.ts';
import { attackerRoutes } from './routes/attackers.ts';
import { credentialRoutes } from './routes/credentials.ts';
import { identityRoutes } from './routes/identities.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { ttpRoutes } from './routes/ttp.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { openApiRoute, systemRoutes } from './routes/system.ts';

declare const DECNET_VERSION: string | undefined;

export function apiVersion(): string {
  return typeof DECNET_VERSION === 'string' ? DECNET_VERSION : '0.0.0-dev';
}

export function apiRoutes(): RouteDef[] {
  const routes: RouteDef[] = [
    ...authRoutes,
    ...userRoutes,
    ...logRoutes,
    ...attackerRoutes,
    ...credentialRoutes,
    ...identityRoutes,
    ...fleetRoutes,
    ...ttpRoutes,
    ...webhookRoutes,
    ...systemRoutes,
  ];
  let doc: Record<string, unknown> | undefined;
  const openapi = openApiRoute(() => (doc ??= buildOpenApi(all, { version: apiVersion() })));
  const all = [...routes, openapi];
  return all;
}
