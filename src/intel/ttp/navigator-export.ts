// ATT&CK Navigator layer (layer format 4.5) of TTP tags: one entry per technique, score = number
// of tags, comment = who did it where and an example of the evidence. Parents of tagged
// sub-techniques are listed so the matrix opens them.
import type { AttackCatalogue } from './catalogue.ts';
import { majorVersion, parentTechniqueId } from './catalogue.ts';
import type { TtpTag } from './types.ts';

export interface NavigatorTechnique {
  techniqueID: string;
  score?: number;
  comment?: string;
  enabled?: boolean;
  showSubtechniques?: boolean;
  metadata?: { name: string; value: string }[];
  links?: { label: string; url: string }[];
}

export interface NavigatorLayer {
  name: string;
  versions: { attack: string; navigator: string; layer: '4.5' };
  domain: 'enterprise-attack';
  description: string;
  sorting: number;
  layout: { layout: 'side' | 'flat' | 'mini'; showID: boolean; showName: boolean; showAggregateScores: boolean; countUnscored: boolean; aggregateFunction: 'sum'; expandedSubtechniques: 'annotated' };
  hideDisabled: boolean;
  techniques: NavigatorTechnique[];
  gradient: { colors: string[]; minValue: number; maxValue: number };
  legendItems: { label: string; color: string }[];
  metadata: { name: string; value: string }[];
  showTacticRowBackground: boolean;
  tacticRowBackground: string;
  selectTechniquesAcrossTactics: boolean;
  selectSubtechniquesWithParent: boolean;
  selectVisibleTechniques: boolean;
}

export interface NavigatorExportOptions {
  catalogue: AttackCatalogue;
  name?: string;
  description?: string;
}

/** The Navigator release whose layer format is 4.5 (the format requires at least 4.9.0). */
export const NAVIGATOR_VERSION = '5.2.0';
const MAX_COMMENT = 1000;
const MAX_LIST = 5;

function listSome(values: Iterable<string>): string {
  const all = [...values];
  return all.slice(0, MAX_LIST).join(', ') + (all.length > MAX_LIST ? ` and ${all.length - MAX_LIST} more` : '');
}

export function exportNavigator(tags: readonly TtpTag[], opts: NavigatorExportOptions): NavigatorLayer {
  const byTechnique = new Map<string, TtpTag[]>();
  for (const tag of tags) {
    if (!opts.catalogue.techniques.has(tag.technique_id)) throw new Error(`tag ${tag.id}: technique ${tag.technique_id} is not in ATT&CK ${opts.catalogue.version}`);
    let list = byTechnique.get(tag.technique_id);
    if (!list) byTechnique.set(tag.technique_id, (list = []));
    list.push(tag);
  }

  const entries = new Map<string, NavigatorTechnique>();
  let maxScore = 1;
  for (const [id, list] of byTechnique) {
    const technique = opts.catalogue.techniques.get(id)!;
    const attackers = new Set(list.map((t) => t.attacker_ip));
    const deckies = new Set(list.map((t) => t.decky));
    const rules = new Set(list.map((t) => t.rule_id));
    const times = list.map((t) => t.ts).sort();
    const example = list.reduce((a, b) => (b.confidence > a.confidence ? b : a));
    const evidence = example.evidence.matched ?? example.evidence.text;
    let comment =
      `${list.length} tag${list.length === 1 ? '' : 's'} from ${attackers.size} attacker${attackers.size === 1 ? '' : 's'} (${listSome(attackers)}) ` +
      `on ${listSome(deckies)}; rules: ${listSome(rules)}; e.g. ${example.service} ${example.evidence.event}: ${evidence}`;
    if (comment.length > MAX_COMMENT) comment = comment.slice(0, MAX_COMMENT - 1) + '…';
    maxScore = Math.max(maxScore, list.length);
    entries.set(id, {
      techniqueID: id,
      score: list.length,
      comment,
      enabled: true,
      metadata: [
        { name: 'first seen', value: times[0]! },
        { name: 'last seen', value: times[times.length - 1]! },
        { name: 'attackers', value: String(attackers.size) },
        { name: 'highest confidence', value: String(Math.max(...list.map((t) => t.confidence))) },
      ],
      links: [{ label: `${technique.id} ${technique.name}`, url: technique.url }],
    });
  }
  // Sub-techniques show only when their parent is expanded.
  for (const id of byTechnique.keys()) {
    const parent = parentTechniqueId(id);
    if (parent === id) continue;
    const entry = entries.get(parent);
    if (entry) entry.showSubtechniques = true;
    else entries.set(parent, { techniqueID: parent, showSubtechniques: true });
  }

  const techniques = [...entries.values()].sort((a, b) => a.techniqueID.localeCompare(b.techniqueID));
  return {
    name: opts.name ?? 'DECNET observed techniques',
    versions: { attack: majorVersion(opts.catalogue), navigator: NAVIGATOR_VERSION, layer: '4.5' },
    domain: 'enterprise-attack',
    description: opts.description ?? `Techniques tagged by DECNET on ${tags.length} observations (score = number of tags).`,
    sorting: 3,
    layout: { layout: 'side', showID: true, showName: true, showAggregateScores: false, countUnscored: false, aggregateFunction: 'sum', expandedSubtechniques: 'annotated' },
    hideDisabled: false,
    techniques,
    gradient: { colors: ['#fff5eb', '#fd8d3c', '#a63603'], minValue: 0, maxValue: maxScore },
    legendItems: [],
    metadata: [
      { name: 'generated by', value: 'DECNET' },
      { name: 'ATT&CK release', value: opts.catalogue.version },
      { name: 'tags', value: String(tags.length) },
    ],
    showTacticRowBackground: false,
    tacticRowBackground: '#dddddd',
    selectTechniquesAcrossTactics: true,
    selectSubtechniquesWithParent: false,
    selectVisibleTechniques: false,
  };
}
