// Loads the ATT&CK catalogue and the rule directory and builds an engine: what a worker or a
// command calls once at start.
import { loadAttackCatalogue } from './catalogue.ts';
import { defaultCataloguePath, defaultRulesDir } from './assets.ts';
import { loadRules, type RuleProblem } from './rule-loader.ts';
import { createEngine, type TtpEngine } from './engine.ts';

export interface LoadEngineOptions {
  /** Default: DECNET_TTP_RULES_DIR or the shipped rules/ttp. */
  rulesDir?: string;
  /** Default: DECNET_ATTACK_CATALOGUE or the shipped data/attack/enterprise-18.1.json. */
  cataloguePath?: string;
  /** Throw on any rule problem (default); with false, bad rules are skipped and listed in `problems`. */
  strict?: boolean;
}

export async function loadTtpEngine(opts: LoadEngineOptions = {}): Promise<{ engine: TtpEngine; problems: RuleProblem[] }> {
  const catalogue = loadAttackCatalogue(opts.cataloguePath ?? defaultCataloguePath());
  const { rules, problems } = await loadRules(opts.rulesDir ?? defaultRulesDir(), catalogue, { strict: opts.strict });
  return { engine: createEngine(rules, catalogue), problems };
}
