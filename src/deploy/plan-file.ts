// The deploy plan on disk: <dataDir>/deploy/plan.json (DECNET_DEPLOY_PLAN overrides), written
// atomically (temp file + rename) so the `deckies` worker never reads half a plan.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.ts';
import { envString } from '../core/env.ts';
import { dataDir, ensureDir } from '../core/paths.ts';
import { serviceNames } from '../deckies/catalog.ts';
import { validatePlan, type DeployPlan } from '../deckies/plan.ts';

const MAX_PLAN_BYTES = 8 * 1024 * 1024;

export function planPath(): string {
  return envString('DECNET_DEPLOY_PLAN') ?? join(dataDir(), 'deploy', 'plan.json');
}

/** The validated plan, or undefined when the file does not exist. Throws ConfigError when it is invalid. */
export async function readPlan(path = planPath()): Promise<DeployPlan | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read the deploy plan ${path}: ${errorMessage(err)}`);
  }
  if (text.length > MAX_PLAN_BYTES) throw new ConfigError(`${path}: larger than ${MAX_PLAN_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON (${errorMessage(err)}); fix it or write a new one with \`decnet deploy\``);
  }
  return validatePlan(raw, serviceNames(), path);
}

export async function writePlan(plan: DeployPlan, path = planPath()): Promise<string> {
  ensureDir(dirname(path));
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, JSON.stringify(plan, null, 2) + '\n', { mode: 0o640 });
  await rename(tmp, path);
  return path;
}
