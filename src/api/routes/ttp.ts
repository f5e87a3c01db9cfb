// MITRE ATT&CK tagging: the fleet's technique summary, the tags themselves, the rule catalogue, and
// exports as a STIX 2.1 bundle or an ATT&CK Navigator layer (fleet-wide or for one attacker). The
// ATT&CK catalogue is loaded on first use and kept.
import { s } from '../http/schema.ts';
import { Reply, route, type ApiRequest, type RouteDef } from '../http/route.ts';
import { notFound } from '../http/errors.ts';
import { API, PAGING, TIME, UUID, pageOf, readOf } from './common.ts';
import type { AttackCatalogue } from '../../intel/ttp/catalogue.ts';
import type { TtpTag } from '../../intel/ttp/types.ts';

const TAG = 'TTP';
const SUMMARY_TTL_MS = 5_000;
const RULES_TTL_MS = 60_000;
/** Tags per export (a STIX bundle is about 1 KB per tag). */
const EXPORT_LIMIT = 10_000;
const TECHNIQUE_ID = s.string({ maxLength: 9, pattern: '^T\\d{4}(\\.\\d{3})?$', description: 'ATT&CK technique (T1059) or sub-technique (T1059.004)' });

async function catalogue(): Promise<AttackCatalogue> {
  const { loadAttackCatalogue } = await import('../../intel/ttp/catalogue.ts');
  return loadAttackCatalogue();
}

const TAG_ROW = s.shape({
  uuid: s.string({ maxLength: 36 }),
  attacker_uuid: s.string({ maxLength: 36, nullable: true }),
  identity_uuid: s.string({ maxLength: 36, nullable: true }),
  session_id: s.string({ maxLength: 128, nullable: true }),
  decky_id: s.string({ maxLength: 128, nullable: true }),
  tactic: s.string({ maxLength: 64, nullable: true }),
  technique_id: s.string({ maxLength: 9 }),
  sub_technique_id: s.string({ maxLength: 9, nullable: true }),
  confidence: s.number(0, 1),
  rule_id: s.string({ maxLength: 128 }),
  rule_version: s.int(0, Number.MAX_SAFE_INTEGER),
  evidence: s.any('what matched'),
  created_at: s.string({ maxLength: 40 }),
});

const EXPORT_QUERY = {
  attacker_uuid: { ...UUID, description: 'only this attacker (default: the whole fleet)' },
  since: { ...TIME, description: 'only tags of events at or after this time (fleet export)' },
};

async function exportTags(req: ApiRequest, format: 'stix' | 'navigator'): Promise<Reply> {
  const cat = await catalogue();
  const db = await readOf(req);
  let document: unknown;
  let counts: { tags: number; skipped: number; truncated: boolean };
  const attacker = req.query.attacker_uuid as string | undefined;
  if (attacker) {
    const { getAttacker } = await import('../../db/attackers/repo.ts');
    const a = await getAttacker(db, attacker);
    if (!a) throw notFound('no such attacker');
    const { listTags } = await import('../../db/ttp/repo.ts');
    const { rowToTag } = await import('../../intel/ttp/stored-tags.ts');
    const rows = await listTags(db, { attacker_uuid: a.uuid }, EXPORT_LIMIT + 1);
    const tags: TtpTag[] = [];
    for (const row of rows.slice(0, EXPORT_LIMIT)) {
      const tag = rowToTag(row, cat, () => a.ip);
      if (tag) tags.push(tag);
    }
    counts = { tags: tags.length, skipped: Math.min(rows.length, EXPORT_LIMIT) - tags.length, truncated: rows.length > EXPORT_LIMIT };
    if (format === 'stix') {
      const { exportStix } = await import('../../intel/ttp/stix-export.ts');
      document = exportStix(tags, { catalogue: cat });
    } else {
      const { exportNavigator } = await import('../../intel/ttp/navigator-export.ts');
      document = exportNavigator(tags, { catalogue: cat, name: `DECNET: ${a.ip}`, description: `Techniques DECNET tagged on ${a.ip} (score = number of tags).` });
    }
  } else {
    const { exportStoredTags } = await import('../../intel/ttp/export-tags.ts');
    const since = req.query.since ? Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(req.query.since) ? req.query.since : `${req.query.since}Z`) : undefined;
    const result = await exportStoredTags(db, { format, catalogue: cat, sinceMs: since, limit: EXPORT_LIMIT });
    document = result.document;
    counts = result;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const name = `decnet-${attacker ? `attacker-${attacker.slice(0, 8)}` : 'fleet'}-${format}-${stamp}.json`;
  return new Reply(200, document, {
    'content-disposition': `attachment; filename="${name}"`,
    'x-decnet-tags': String(counts.tags),
    'x-decnet-skipped': String(counts.skipped),
    'x-decnet-truncated': String(counts.truncated),
  });
}

export const ttpRoutes: RouteDef[] = [
  route({
    method: 'GET',
    path: `${API}/ttp/techniques`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Techniques seen across the fleet, most frequent first (cached 5 s)',
    responses: {
      200: {
        description: 'Techniques',
        schema: s.array(
          s.shape({
            technique_id: s.string({ maxLength: 9 }),
            sub_technique_id: s.string({ maxLength: 9, nullable: true }),
            technique_name: s.string({ maxLength: 256, nullable: true }),
            tactic: s.string({ maxLength: 64, nullable: true }),
            count: s.int(0, Number.MAX_SAFE_INTEGER),
            attackers: s.int(0, Number.MAX_SAFE_INTEGER),
            max_confidence: s.number(0, 1),
            first_seen: s.string({ maxLength: 40 }),
            last_seen: s.string({ maxLength: 40 }),
            mitre_url: s.string({ maxLength: 256, nullable: true }),
          }),
          10_000,
        ),
      },
    },
    handler: (req) =>
      req.ctx.cache.get('ttp:techniques', SUMMARY_TTL_MS, async () => {
        const { techniqueSummary } = await import('../../db/ttp/repo.ts');
        const [rows, cat] = await Promise.all([techniqueSummary(await readOf(req)), catalogue()]);
        return rows.map((r) => {
          const t = cat.techniques.get(r.sub_technique_id ?? r.technique_id);
          return { ...r, technique_name: t?.name ?? null, mitre_url: t?.url ?? null };
        });
      }),
  }),
  route({
    method: 'GET',
    path: `${API}/ttp/tags`,
    auth: 'viewer',
    tag: TAG,
    summary: 'ATT&CK tags with their evidence, newest first',
    query: { ...PAGING, attacker_uuid: UUID, identity_uuid: UUID, technique_id: TECHNIQUE_ID },
    responses: { 200: { description: 'One page of tags', schema: pageOf(TAG_ROW) } },
    handler: async (req) => {
      const { listTagsPage } = await import('../../db/ttp/repo.ts');
      return listTagsPage(await readOf(req), req.query);
    },
  }),
  route({
    method: 'GET',
    path: `${API}/ttp/rules`,
    auth: 'viewer',
    tag: TAG,
    summary: 'The tagging rules in force (from the rule directory)',
    responses: {
      200: {
        description: 'Rules, and problems with rule files that were left out',
        schema: s.shape({
          rules: s.array(
            s.shape({
              id: s.string({ maxLength: 128 }),
              version: s.int(0, Number.MAX_SAFE_INTEGER),
              name: s.string({ maxLength: 256 }),
              description: s.string({ maxLength: 4096 }),
              technique: s.string({ maxLength: 9 }),
              technique_name: s.string({ maxLength: 256, nullable: true }),
              tactics: s.array(s.string({ maxLength: 64 }), 16),
              confidence: s.number(0, 1),
              file: s.string({ maxLength: 256 }),
            }),
            100_000,
          ),
          problems: s.array(s.string({ maxLength: 4096 }), 10_000),
        }),
      },
    },
    handler: (req) =>
      req.ctx.cache.get('ttp:rules', RULES_TTL_MS, async () => {
        const cat = await catalogue();
        const { loadRules, formatProblem } = await import('../../intel/ttp/rule-loader.ts');
        const { defaultRulesDir } = await import('../../intel/ttp/assets.ts');
        const { basename } = await import('node:path');
        const set = await loadRules(defaultRulesDir(), cat, { strict: false });
        return {
          rules: set.rules.map((r) => ({
            id: r.id,
            version: r.version,
            name: r.name,
            description: r.description,
            technique: r.technique,
            technique_name: cat.techniques.get(r.technique)?.name ?? null,
            tactics: [...r.tactics],
            confidence: r.confidence,
            file: basename(r.source.file),
          })),
          problems: set.problems.map((p) => formatProblem({ ...p, file: basename(p.file) })),
        };
      }),
  }),
  route({
    method: 'GET',
    path: `${API}/ttp/export/stix`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Tags as a STIX 2.1 bundle (download)',
    query: EXPORT_QUERY,
    responses: { 200: { description: 'STIX 2.1 bundle; X-DECNET-Tags, X-DECNET-Skipped and X-DECNET-Truncated say what went in', schema: s.shape({ type: s.enum(['bundle']), id: s.string({ maxLength: 64 }), objects: s.array(s.any(), 1_000_000) }) } },
    handler: (req) => exportTags(req, 'stix'),
  }),
  route({
    method: 'GET',
    path: `${API}/ttp/export/navigator`,
    auth: 'viewer',
    tag: TAG,
    summary: 'Tags as an ATT&CK Navigator layer (download)',
    query: EXPORT_QUERY,
    responses: { 200: { description: 'Navigator layer 4.5', schema: s.shape({ name: s.string({ maxLength: 256 }), domain: s.enum(['enterprise-attack']), techniques: s.array(s.any(), 100_000) }) } },
    handler: (req) => exportTags(req, 'navigator'),
  }),
];
