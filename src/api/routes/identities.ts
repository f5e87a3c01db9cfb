// Identities (attacker addresses the clusterer believes are one actor) and campaigns (identities
// working together). Read-only: the clustering workers write them.
import { s } from '../http/schema.ts';
import { route, type RouteDef } from '../http/route.ts';
import { notFound } from '../http/errors.ts';
import { API, PAGING, UUID, pageOf, readOf } from './common.ts';

const TAG = 'Identities';

/** The simhash column is 8 raw bytes: shown as hex. */
function withHex<T extends { kd_digraph_simhash?: Uint8Array | null }>(row: T): Record<string, unknown> {
  const v = row.kd_digraph_simhash;
  return { ...row, kd_digraph_simhash: v ? Buffer.from(v).toString('hex') : null };
}

const IDENTITY = s.shape({
  uuid: s.string({ maxLength: 36 }),
  campaign_id: s.string({ maxLength: 36, nullable: true }),
  first_seen_at: s.string({ maxLength: 40 }),
  last_seen_at: s.string({ maxLength: 40 }),
  confidence: s.number(0, 1),
  observation_count: s.int(0, Number.MAX_SAFE_INTEGER),
  merged_into_uuid: s.string({ maxLength: 36, nullable: true }),
});

const CAMPAIGN = s.shape({
  uuid: s.string({ maxLength: 36 }),
  first_seen_at: s.string({ maxLength: 40 }),
  last_seen_at: s.string({ maxLength: 40 }),
  confidence: s.number(0, 1),
  identity_count: s.int(0, Number.MAX_SAFE_INTEGER),
  merged_into_uuid: s.string({ maxLength: 36, nullable: true }),
});

export const identityRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/identities`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Identities, most recently active first',
    query: { ...PAGING, campaign_id: UUID, include_merged: s.bool({ default: false, description: 'also list identities merged into another' }) },
    responses: { 200: { description: 'One page of identities', schema: pageOf(IDENTITY) } },
    handler: async (req) => {
      const { listIdentities } = await import('../../db/identities/repo.ts');
      const page = await listIdentities(await readOf(req), req.query);
      return { ...page, data: page.data.map(withHex) };
    },
  }),
  route({
    method: 'GET',
    path: `${API}/identities/{uuid}`,
    auth: 'viewer',
    tag: TAG,
    summary: 'One identity (a merged one resolves to the identity it was merged into), with its attacker addresses',
    params: { uuid: UUID },
    responses: { 200: { description: 'The identity', schema: s.shape({ ...IDENTITY.properties, attackers: s.array(s.shape({ uuid: s.string({ maxLength: 36 }), ip: s.string({ maxLength: 45 }) }), 100_000) }) } },
    handler: async (req) => {
      const { resolveIdentity, attackersOfIdentity } = await import('../../db/identities/repo.ts');
      const db = await readOf(req);
      const identity = await resolveIdentity(db, req.params.uuid);
      if (!identity) throw notFound('no such identity');
      return { ...withHex(identity), attackers: await attackersOfIdentity(db, identity.uuid) };
    },
  }),
  route({
    method: 'GET',
    path: `${API}/campaigns`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Campaigns, most recently active first',
    query: { ...PAGING, include_merged: s.bool({ default: false, description: 'also list campaigns merged into another' }) },
    responses: { 200: { description: 'One page of campaigns', schema: pageOf(CAMPAIGN) } },
    handler: async (req) => {
      const { listCampaigns } = await import('../../db/campaigns/repo.ts');
      return listCampaigns(await readOf(req), req.query);
    },
  }),
  route({
    method: 'GET',
    path: `${API}/campaigns/{uuid}`,
    auth: 'viewer',
    tag: TAG,
    summary: 'One campaign with a page of its identities',
    params: { uuid: UUID },
    query: PAGING,
    responses: { 200: { description: 'The campaign', schema: s.shape({ ...CAMPAIGN.properties, identities: pageOf(IDENTITY) }) } },
    handler: async (req) => {
      const { getCampaign } = await import('../../db/campaigns/repo.ts');
      const { listIdentities } = await import('../../db/identities/repo.ts');
      const db = await readOf(req);
      const campaign = await getCampaign(db, req.params.uuid);
      if (!campaign) throw notFound('no such campaign');
      const identities = await listIdentities(db, { campaign_id: campaign.uuid, include_merged: false, limit: req.query.limit, offset: req.query.offset });
      return { ...campaign, identities: { ...identities, data: identities.data.map(withHex) } };
    },
  }),
];
