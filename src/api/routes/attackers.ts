// Attacker profiles (one per source address, built by the profiler) and what each one did: its
// events, shell commands, captured credentials and ATT&CK techniques.
import { s } from '../http/schema.ts';
import { route, type ApiRequest, type RouteDef } from '../http/route.ts';
import { notFound } from '../http/errors.ts';
import { API, PAGING, SERVICE, TEXT_FILTER, UUID, pageOf, paging, readOf } from './common.ts';
import { LOG_ROW } from './logs.ts';
import { CREDENTIAL_ROW } from './credentials.ts';
import type { AttackerRow } from '../../db/attackers/repo.ts';

const TAG = 'Attackers';
const EVENT_TYPE = s.string({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]{1,64}$' });

const ATTACKER = s.shape({
  uuid: s.string({ maxLength: 36 }),
  ip: s.string({ maxLength: 45 }),
  identity_id: s.string({ maxLength: 36, nullable: true }),
  first_seen: s.string({ maxLength: 40 }),
  last_seen: s.string({ maxLength: 40 }),
  event_count: s.int(0, Number.MAX_SAFE_INTEGER),
  service_count: s.int(0, 1000),
  decky_count: s.int(0, 100_000),
  bounty_count: s.int(0, Number.MAX_SAFE_INTEGER),
  credential_count: s.int(0, Number.MAX_SAFE_INTEGER),
  services: s.array(s.string({ maxLength: 128 }), 1000),
  deckies: s.array(s.string({ maxLength: 128 }), 10_000),
  country_code: s.string({ maxLength: 2, nullable: true }),
  asn: s.int(0, 4_294_967_295, { nullable: true }),
  as_name: s.string({ maxLength: 512, nullable: true }),
  ptr_record: s.string({ maxLength: 512, nullable: true }),
  is_traversal: s.bool(),
});

/** The list view leaves out the bulky per-attacker lists (commands, fingerprints); the detail has them. */
function summary(a: AttackerRow): Record<string, unknown> {
  const { commands, fingerprints, ...rest } = a;
  return { ...rest, command_count: commands.length, fingerprint_count: fingerprints.length };
}

async function attackerOr404(req: ApiRequest): Promise<AttackerRow> {
  const { getAttacker } = await import('../../db/attackers/repo.ts');
  const attacker = await getAttacker(await readOf(req), req.params.uuid);
  if (!attacker) throw notFound('no such attacker');
  return attacker;
}

const BY_UUID = { uuid: UUID };

export const attackerRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/attackers`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Attacker profiles',
    query: {
      ...PAGING,
      search: { ...TEXT_FILTER, description: 'substring of the address, reverse DNS name, AS name or country code' },
      sort_by: s.enum(['recent', 'active', 'traversals'], { default: 'recent', description: 'recent: last seen first; active: most events first; traversals: multi-decky paths first' }),
      service: SERVICE,
    },
    responses: { 200: { description: 'One page of profiles', schema: pageOf(ATTACKER) } },
    handler: async (req) => {
      const { listAttackers } = await import('../../db/attackers/repo.ts');
      const page = await listAttackers(await readOf(req), req.query);
      return { ...page, data: page.data.map(summary) };
    },
  }),
  route({
    method: 'GET',
    path: `${API}/attackers/{uuid}`,
    auth: 'viewer',
    tag: TAG,
    summary: 'One attacker: profile, behaviour, enrichment, technique summary',
    params: BY_UUID,
    responses: { 200: { description: 'The attacker', schema: s.shape({ ...ATTACKER.properties, behavior: s.any('behaviour profile or null'), intel: s.any('threat intelligence or null'), techniques: s.any('techniques seen') }) } },
    handler: async (req) => {
      const attacker = await attackerOr404(req);
      const db = await readOf(req);
      const { getBehavior } = await import('../../db/attackers/repo.ts');
      const { getAttackerIntel } = await import('../../db/intel/repo.ts');
      const { techniqueRollup } = await import('../../db/ttp/repo.ts');
      const [behavior, intel, techniques] = await Promise.all([getBehavior(db, attacker.uuid), getAttackerIntel(db, attacker.uuid), techniqueRollup(db, { attacker_uuid: attacker.uuid })]);
      return { ...attacker, behavior: behavior ?? null, intel: intel ?? null, techniques };
    },
  }),
  route({
    method: 'GET',
    path: `${API}/attackers/{uuid}/events`,
    auth: 'viewer',
    tag: TAG,
    summary: "The attacker's events (timeline), newest first",
    params: BY_UUID,
    query: { ...PAGING, event_type: s.array(EVENT_TYPE, 20, { description: 'only these event types (repeat the parameter)' }) },
    responses: { 200: { description: 'One page of events', schema: pageOf(LOG_ROW) } },
    handler: async (req) => {
      const attacker = await attackerOr404(req);
      const { logsForAttacker } = await import('../../db/logs/repo.ts');
      return logsForAttacker(await readOf(req), attacker.ip, { event_types: req.query.event_type, limit: req.query.limit, offset: req.query.offset });
    },
  }),
  route({
    method: 'GET',
    path: `${API}/attackers/{uuid}/commands`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Shell commands the attacker ran, newest first',
    params: BY_UUID,
    query: { ...paging(200), service: SERVICE },
    responses: { 200: { description: 'One page of commands', schema: pageOf(s.shape({ service: s.string({ maxLength: 128 }), decky: s.string({ maxLength: 128 }), command: s.string({ maxLength: 65536 }), timestamp: s.string({ maxLength: 40 }) })) } },
    handler: async (req) => {
      await attackerOr404(req);
      const { attackerCommands } = await import('../../db/attackers/repo.ts');
      return attackerCommands(await readOf(req), req.params.uuid, req.query);
    },
  }),
  route({
    method: 'GET',
    path: `${API}/attackers/{uuid}/credentials`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Credentials the attacker tried, most recent first',
    params: BY_UUID,
    query: { ...PAGING, service: SERVICE },
    responses: { 200: { description: 'One page of credentials', schema: pageOf(CREDENTIAL_ROW) } },
    handler: async (req) => {
      const attacker = await attackerOr404(req);
      const { listCredentials } = await import('../../db/credentials/repo.ts');
      return listCredentials(await readOf(req), { attacker_ip: attacker.ip, service: req.query.service, limit: req.query.limit, offset: req.query.offset });
    },
  }),
  route({
    method: 'GET',
    path: `${API}/attackers/{uuid}/techniques`,
    auth: 'viewer',
    tag: TAG,
    summary: 'ATT&CK techniques tagged on the attacker, most frequent first',
    params: BY_UUID,
    responses: {
      200: {
        description: 'Techniques',
        schema: s.array(
          s.shape({
            technique_id: s.string({ maxLength: 16 }),
            sub_technique_id: s.string({ maxLength: 16, nullable: true }),
            tactic: s.string({ maxLength: 64, nullable: true }),
            count: s.int(0, Number.MAX_SAFE_INTEGER),
            max_confidence: s.number(0, 1),
            first_seen: s.string({ maxLength: 40 }),
            last_seen: s.string({ maxLength: 40 }),
          }),
          10_000,
        ),
      },
    },
    handler: async (req) => {
      await attackerOr404(req);
      const { techniqueRollup } = await import('../../db/ttp/repo.ts');
      return techniqueRollup(await readOf(req), { attacker_uuid: req.params.uuid });
    },
  }),
];
