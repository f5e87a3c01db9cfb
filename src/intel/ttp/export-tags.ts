// `decnet ttp export`: the stored tags as a STIX 2.1 bundle or an ATT&CK Navigator layer.
import type { Db } from '../../db/types.ts';
import type { AttackCatalogue } from './catalogue.ts';
import type { TtpTag } from './types.ts';
import { rowToTag } from './stored-tags.ts';

export const EXPORT_FORMATS = ['stix', 'navigator'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  format: ExportFormat;
  catalogue: AttackCatalogue;
  /** Only tags of events at or after this time (epoch ms). */
  sinceMs?: number;
  /** Most tags read (the newest beyond it are left out, and `truncated` says so). */
  limit?: number;
}

export interface ExportResult {
  document: unknown;
  tags: number;
  /** Stored rows left out: unknown technique (catalogue changed) or no attacker address. */
  skipped: number;
  truncated: boolean;
}

const PAGE = 5000;

/** Reads the stored tags (oldest first) and converts them back into engine tags. */
export async function loadStoredTags(db: Db, catalogue: AttackCatalogue, opts: { sinceMs?: number; limit?: number } = {}): Promise<{ tags: TtpTag[]; skipped: number; truncated: boolean }> {
  const { listTagsSince } = await import('../../db/ttp/repo.ts');
  const { getAttacker } = await import('../../db/attackers/repo.ts');
  const limit = opts.limit ?? 200_000;
  const rows = [];
  let after: { created_at: string; uuid: string } | undefined;
  let truncated = false;
  for (;;) {
    const page = await listTagsSince(db, { since: opts.sinceMs ?? null, after, limit: Math.min(PAGE, limit - rows.length + 1) });
    rows.push(...page);
    if (rows.length > limit) {
      rows.length = limit;
      truncated = true;
      break;
    }
    if (page.length < PAGE) break;
    const last = page[page.length - 1]!;
    after = { created_at: last.created_at, uuid: last.uuid };
  }
  // Tags written by other taggers may not carry the address in their evidence: look it up once per attacker.
  const ips = new Map<string, string | undefined>();
  for (const r of rows) {
    const hasIp = typeof (r.evidence as { attacker_ip?: unknown }).attacker_ip === 'string';
    if (!hasIp && r.attacker_uuid && !ips.has(r.attacker_uuid)) ips.set(r.attacker_uuid, (await getAttacker(db, r.attacker_uuid))?.ip);
  }
  const tags: TtpTag[] = [];
  let skipped = 0;
  for (const r of rows) {
    const tag = rowToTag(r, catalogue, (uuid) => (uuid ? ips.get(uuid) : undefined));
    if (tag) tags.push(tag);
    else skipped++;
  }
  return { tags, skipped, truncated };
}

export async function exportStoredTags(db: Db, opts: ExportOptions): Promise<ExportResult> {
  const { tags, skipped, truncated } = await loadStoredTags(db, opts.catalogue, opts);
  let document: unknown;
  if (opts.format === 'stix') {
    const { exportStix } = await import('./stix-export.ts');
    document = exportStix(tags, { catalogue: opts.catalogue });
  } else {
    const { exportNavigator } = await import('./navigator-export.ts');
    const since = opts.sinceMs === undefined ? '' : ` since ${new Date(opts.sinceMs).toISOString()}`;
    document = exportNavigator(tags, { catalogue: opts.catalogue, description: `Techniques tagged by DECNET on ${tags.length} observations${since} (score = number of tags).` });
  }
  return { document, tags: tags.length, skipped, truncated };
}
