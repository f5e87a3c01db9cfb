// Captured credentials (de-duplicated), credentials reused across targets, and the bounty vault of
// harvested fingerprints and artefacts.
import { s } from '../http/schema.ts';
import { route, type RouteDef } from '../http/route.ts';
import { notFound } from '../http/errors.ts';
import { API, IP, PAGING, SERVICE, TEXT_FILTER, UUID, pageOf, readOf } from './common.ts';

const TAG = 'Credentials';

export const CREDENTIAL_ROW = s.shape({
  id: s.int(1, Number.MAX_SAFE_INTEGER),
  attacker_ip: s.string({ maxLength: 45 }),
  attacker_uuid: s.string({ maxLength: 36, nullable: true }),
  decky_name: s.string({ maxLength: 128 }),
  service: s.string({ maxLength: 128 }),
  principal: s.string({ maxLength: 512, nullable: true }),
  secret_kind: s.string({ maxLength: 128 }),
  secret_sha256: s.string({ maxLength: 64 }),
  secret_b64: s.string({ maxLength: 2048 }),
  secret_printable: s.string({ maxLength: 512, nullable: true }),
  outcome: s.enum(['success', 'failure', 'observed']),
  first_seen: s.string({ maxLength: 40 }),
  last_seen: s.string({ maxLength: 40 }),
  attempt_count: s.int(1, Number.MAX_SAFE_INTEGER),
});

const REUSE_ROW = s.shape({
  id: s.string({ maxLength: 36 }),
  secret_sha256: s.string({ maxLength: 64 }),
  secret_kind: s.string({ maxLength: 128 }),
  principal: s.string({ maxLength: 512, nullable: true }),
  attacker_uuids: s.array(s.string({ maxLength: 36 }), 10_000),
  attacker_ips: s.array(s.string({ maxLength: 45 }), 10_000),
  deckies: s.array(s.string({ maxLength: 128 }), 10_000),
  services: s.array(s.string({ maxLength: 128 }), 1000),
  target_count: s.int(0, Number.MAX_SAFE_INTEGER),
  attempt_count: s.int(0, Number.MAX_SAFE_INTEGER),
  confidence: s.number(0, 1),
  first_seen: s.string({ maxLength: 40 }),
  last_seen: s.string({ maxLength: 40 }),
});

const BOUNTY_ROW = s.shape({
  id: s.int(1, Number.MAX_SAFE_INTEGER),
  ts: s.string({ maxLength: 40 }),
  decky: s.string({ maxLength: 128, nullable: true }),
  service: s.string({ maxLength: 128, nullable: true }),
  attacker_ip: s.string({ maxLength: 45, nullable: true }),
  bounty_type: s.string({ maxLength: 128 }),
  payload: s.any('the finding (fingerprint hashes, artefact metadata …)'),
});

export const credentialRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/credentials`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Captured credentials, most recently seen first',
    query: { ...PAGING, search: { ...TEXT_FILTER, description: 'substring of the principal, the readable secret, the decky or the address' }, service: SERVICE, attacker_ip: IP },
    responses: { 200: { description: 'One page of credentials', schema: pageOf(CREDENTIAL_ROW) } },
    handler: async (req) => {
      const { listCredentials } = await import('../../db/credentials/repo.ts');
      return listCredentials(await readOf(req), req.query);
    },
  }),
  route({
    method: 'GET',
    path: `${API}/credential-reuse`,
    auth: 'viewer',
    tag: TAG,
    summary: 'The same secret tried on several deckies or services, most recent first',
    query: PAGING,
    responses: { 200: { description: 'One page of findings', schema: pageOf(REUSE_ROW) } },
    handler: async (req) => {
      const { listCredentialReuse } = await import('../../db/credentials/repo.ts');
      return listCredentialReuse(await readOf(req), req.query);
    },
  }),
  route({
    method: 'GET',
    path: `${API}/credential-reuse/{id}`,
    auth: 'viewer',
    tag: TAG,
    summary: 'One reuse finding',
    params: { id: UUID },
    responses: { 200: { description: 'The finding', schema: REUSE_ROW } },
    handler: async (req) => {
      const { getCredentialReuse } = await import('../../db/credentials/repo.ts');
      const row = await getCredentialReuse(await readOf(req), req.params.id);
      if (!row) throw notFound('no such credential reuse finding');
      return row;
    },
  }),
  route({
    method: 'GET',
    path: `${API}/bounty`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Harvested fingerprints and artefacts, newest first',
    query: {
      ...PAGING,
      bounty_type: s.string({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'fingerprint, artifact, ip_leak …' }),
      search: { ...TEXT_FILTER, description: 'substring of decky, service, address or the finding' },
    },
    responses: { 200: { description: 'One page of findings', schema: pageOf(BOUNTY_ROW) } },
    handler: async (req) => {
      const { listBounties } = await import('../../db/bounty/repo.ts');
      return listBounties(await readOf(req), req.query);
    },
  }),
];
