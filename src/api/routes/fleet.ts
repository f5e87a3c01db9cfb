// The fleet: deployed deckies with their live state, and the workers (from their heartbeats and the
// host state files) with stop/restart/start through the bus control topic.
import { s } from '../http/schema.ts';
import { accepted, route, type RouteDef } from '../http/route.ts';
import { notFound, unavailable } from '../http/errors.ts';
import { API } from './common.ts';
import { topics } from '../../bus/topics.ts';

const DECKY = s.shape({
  name: s.string({ maxLength: 64 }),
  ip: s.string({ maxLength: 45 }),
  hostname: s.string({ maxLength: 255 }),
  archetype: s.string({ maxLength: 64 }),
  distro: s.string({ maxLength: 64 }),
  osFamily: s.string({ maxLength: 32 }),
  services: s.array(s.shape({ name: s.string({ maxLength: 64 }), ports: s.array(s.string({ maxLength: 16 }), 16) }), 64),
  state: s.enum(['up', 'partial', 'down', 'starting', 'not running']),
  problems: s.array(s.shape({ service: s.string({ maxLength: 64 }), port: s.int(0, 65535), error: s.string({ maxLength: 1024 }), hint: s.string({ maxLength: 1024 }) }), 256),
});

const WORKER_NAME = s.string({ minLength: 1, maxLength: 40, pattern: '^[a-z][a-z0-9-]{0,39}$', description: 'worker name (see GET /workers)' });

export const fleetRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/deckies`,
    auth: 'viewer',
    tag: 'Deckies',
    summary: 'The deploy plan joined with the decoy host\'s live state',
    responses: {
      200: {
        description: 'Plan source, decoy host state and every decky',
        schema: s.shape({
          plan_path: s.string({ maxLength: 4096, description: 'admins only' }),
          source: s.enum(['deployed', 'default', 'invalid']),
          plan_error: s.string({ maxLength: 4096 }),
          generated: s.string({ maxLength: 64 }),
          host: s.shape({ running: s.bool(), pid: s.int(1, 4_194_304), updated_at: s.int(0, Number.MAX_SAFE_INTEGER), applied: s.bool() }),
          deckies: s.array(DECKY, 1024),
        }),
      },
    },
    handler: async (req) => {
      const { describeDeckies } = await import('../../deploy/describe.ts');
      const d = await describeDeckies();
      // file system paths of the server are for admins only
      const { plan_path, ...rest } = d;
      return { ...rest, ...(req.principal!.role === 'admin' ? { plan_path } : {}), host: { running: d.host.running, pid: d.host.pid, updated_at: d.host.updated_at, applied: d.host.applied } };
    },
  }),
  route({
    method: 'GET',
    path: `${API}/deckies/{name}`,
    auth: 'viewer',
    tag: 'Deckies',
    summary: 'One decky',
    params: { name: s.string({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$', description: 'decky name' }) },
    responses: { 200: { description: 'The decky', schema: DECKY } },
    handler: async (req) => {
      const { describeDeckies } = await import('../../deploy/describe.ts');
      const decky = (await describeDeckies()).deckies.find((d) => d.name === req.params.name);
      if (!decky) throw notFound('no such decky in the current plan');
      return decky;
    },
  }),
  route({
    method: 'GET',
    path: `${API}/workers`,
    auth: 'viewer',
    tag: 'Workers',
    summary: 'Every worker: state, heartbeat age, restarts, and the PSS of each process',
    description: 'status is ok when a heartbeat arrived within three heartbeat intervals, stale when older, unknown when none was ever seen.',
    responses: {
      200: {
        description: 'Workers and processes',
        schema: s.shape({
          generated_at: s.string({ maxLength: 40 }),
          bus_connected: s.bool(),
          workers: s.array(
            s.shape({
              name: s.string({ maxLength: 40 }),
              status: s.enum(['ok', 'stale', 'unknown']),
              state: s.string({ maxLength: 32, nullable: true }),
              process: s.string({ maxLength: 64, nullable: true }),
              pid: s.int(1, 4_194_304, { nullable: true }),
              last_heartbeat_ts: s.int(0, Number.MAX_SAFE_INTEGER, { nullable: true }),
              seconds_since: s.int(0, Number.MAX_SAFE_INTEGER, { nullable: true }),
              restarts: s.int(0, Number.MAX_SAFE_INTEGER, { nullable: true }),
              host_pss_kb: s.int(0, Number.MAX_SAFE_INTEGER, { nullable: true }),
            }),
            256,
          ),
          processes: s.array(s.shape({ name: s.string({ maxLength: 64 }), pid: s.int(1, 4_194_304), alive: s.bool(), pss_kb: s.int(0, Number.MAX_SAFE_INTEGER, { nullable: true }) }), 256),
        }),
      },
    },
    handler: (req) => req.ctx.workers.snapshot(),
  }),
  route({
    method: 'POST',
    path: `${API}/workers/{name}/{action}`,
    auth: 'admin',
    tag: 'Workers',
    summary: 'Stop, restart or start one worker (its siblings in the same process are not affected)',
    description: 'Published on system.<name>.control; the worker\'s host acts on it. Answers 202 at once: watch GET /workers for the outcome.',
    params: { name: WORKER_NAME, action: s.enum(['stop', 'restart', 'start']) },
    responses: {
      202: { description: 'The request was published', schema: s.shape({ accepted: s.bool(), worker: s.string({ maxLength: 40 }), action: s.enum(['stop', 'restart', 'start']) }) },
      503: { description: 'The bus is not connected' },
    },
    handler: (req) => {
      const { name, action } = req.params;
      if (!req.ctx.workers.isKnownWorker(name)) throw notFound(`no worker named ${name} (GET /api/v1/workers lists them)`);
      if (!req.ctx.bus.stats().connected) throw unavailable('the service bus is not connected; the request cannot be delivered');
      req.ctx.bus.publish(topics.workerControl(name), { action, requested_by: req.principal!.username, ts: Date.now() }, 'control');
      req.ctx.log.info(`worker ${action} requested`, { worker: name, by: req.principal!.username });
      return accepted({ accepted: true, worker: name, action });
    },
  }),
];
