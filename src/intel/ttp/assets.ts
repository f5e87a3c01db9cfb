// Where the TTP engine finds its shipped data: the rule directory and the ATT&CK catalogue. Both
// live at the project root (rules/ttp, data/attack); the code runs either from src/intel/ttp or
// from a bundle chunk in dist/chunks, so the root is found by walking up to the first directory
// that holds both. Environment variables override each path.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envString } from '../../core/env.ts';

export const CATALOGUE_FILE = 'data/attack/enterprise-18.1.json';
export const RULES_DIR = 'rules/ttp';

let cachedRoot: string | undefined;

function projectRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 8; up++) {
    if (existsSync(join(dir, CATALOGUE_FILE)) && existsSync(join(dir, RULES_DIR))) {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `cannot find ${RULES_DIR} and ${CATALOGUE_FILE} above ${dirname(fileURLToPath(import.meta.url))}; ` +
      'set DECNET_TTP_RULES_DIR and DECNET_ATTACK_CATALOGUE',
  );
}

/** The rule directory: DECNET_TTP_RULES_DIR, else the shipped rules/ttp. */
export function defaultRulesDir(): string {
  return envString('DECNET_TTP_RULES_DIR') ?? join(projectRoot(), RULES_DIR);
}

/** The ATT&CK catalogue: DECNET_ATTACK_CATALOGUE, else the shipped data/attack/enterprise-18.1.json. */
export function defaultCataloguePath(): string {
  return envString('DECNET_ATTACK_CATALOGUE') ?? join(projectRoot(), CATALOGUE_FILE);
}
