// The ATT&CK Enterprise catalogue (ids, names, tactics, STIX ids, URLs), loaded from the extract in
// data/attack. Rules are validated against it and exports take names and STIX ids from it.
import { readFileSync } from 'node:fs';
import { defaultCataloguePath } from './assets.ts';

export interface Tactic {
  /** TA0007 */
  id: string;
  /** 'discovery': the kill-chain phase name used by techniques and the Navigator. */
  shortname: string;
  name: string;
  stixId: string;
  url: string;
}

export interface Technique {
  /** T1070 or T1070.003 */
  id: string;
  name: string;
  /** Tactic shortnames, in catalogue order. */
  tactics: readonly string[];
  platforms: readonly string[];
  subtechnique: boolean;
  deprecated: boolean;
  stixId: string;
  url: string;
}

export interface AttackCatalogue {
  /** '18.1' */
  version: string;
  /** The attribution line that ships with the data. */
  source: string;
  techniques: ReadonlyMap<string, Technique>;
  tactics: ReadonlyMap<string, Tactic>;
}

export const TECHNIQUE_ID = /^T\d{4}(?:\.\d{3})?$/;
const TACTIC_ID = /^TA\d{4}$/;
const STIX_ID = /^[a-z][a-z0-9-]*--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class CatalogueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogueError';
  }
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new CatalogueError(`${what} must be a non-empty string`);
  return v;
}

function strList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new CatalogueError(`${what} must be a list of strings`);
  return v as string[];
}

/** Validates and indexes the catalogue JSON (the shape of data/attack/enterprise-18.1.json). */
export function parseAttackCatalogue(json: unknown): AttackCatalogue {
  if (!json || typeof json !== 'object') throw new CatalogueError('catalogue must be a JSON object');
  const root = json as Record<string, unknown>;
  const version = str(root.attack_version, 'attack_version');
  const source = str(root.source, 'source');
  if (!Array.isArray(root.tactics) || !Array.isArray(root.techniques)) throw new CatalogueError('catalogue needs "tactics" and "techniques" lists');

  const tactics = new Map<string, Tactic>();
  for (const [n, raw] of root.tactics.entries()) {
    const t = raw as Record<string, unknown>;
    const id = str(t?.id, `tactics[${n}].id`);
    if (!TACTIC_ID.test(id)) throw new CatalogueError(`tactics[${n}].id ${JSON.stringify(id)} is not a tactic id (TA0000)`);
    const stixId = str(t.stix_id, `tactics[${n}].stix_id`);
    if (!STIX_ID.test(stixId)) throw new CatalogueError(`tactics[${n}].stix_id is not a STIX id`);
    const tactic: Tactic = { id, shortname: str(t.shortname, `tactics[${n}].shortname`), name: str(t.name, `tactics[${n}].name`), stixId, url: str(t.url, `tactics[${n}].url`) };
    tactics.set(tactic.shortname, tactic);
  }

  const techniques = new Map<string, Technique>();
  for (const [n, raw] of root.techniques.entries()) {
    const t = raw as Record<string, unknown>;
    const id = str(t?.id, `techniques[${n}].id`);
    if (!TECHNIQUE_ID.test(id)) throw new CatalogueError(`techniques[${n}].id ${JSON.stringify(id)} is not a technique id (T0000 or T0000.000)`);
    if (techniques.has(id)) throw new CatalogueError(`technique ${id} appears twice`);
    const stixId = str(t.stix_id, `${id}.stix_id`);
    if (!stixId.startsWith('attack-pattern--') || !STIX_ID.test(stixId)) throw new CatalogueError(`${id}.stix_id is not an attack-pattern STIX id`);
    const techniqueTactics = strList(t.tactics, `${id}.tactics`);
    for (const tac of techniqueTactics) if (!tactics.has(tac)) throw new CatalogueError(`${id} names unknown tactic ${JSON.stringify(tac)}`);
    techniques.set(id, {
      id,
      name: str(t.name, `${id}.name`),
      tactics: techniqueTactics,
      platforms: t.platforms === undefined ? [] : strList(t.platforms, `${id}.platforms`),
      subtechnique: t.subtechnique === true,
      deprecated: t.deprecated === true,
      stixId,
      url: str(t.url, `${id}.url`),
    });
  }
  return { version, source, techniques, tactics };
}

const cache = new Map<string, AttackCatalogue>();

/** Reads the catalogue once per path (about 250 KB of JSON; a few milliseconds to parse). */
export function loadAttackCatalogue(path: string = defaultCataloguePath()): AttackCatalogue {
  const hit = cache.get(path);
  if (hit) return hit;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CatalogueError(`cannot read the ATT&CK catalogue ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CatalogueError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  let catalogue: AttackCatalogue;
  try {
    catalogue = parseAttackCatalogue(json);
  } catch (err) {
    throw new CatalogueError(`${path}: ${(err as Error).message}`);
  }
  cache.set(path, catalogue);
  return catalogue;
}

/** T1070.003 → T1070; a technique is its own parent. */
export function parentTechniqueId(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? id : id.slice(0, dot);
}

/** The ATT&CK major version (the Navigator wants "18", not "18.1"). */
export function majorVersion(catalogue: AttackCatalogue): string {
  return catalogue.version.split('.')[0]!;
}
