// `decnet teardown`: removes deckies from the deploy plan (all of them, or the named ones); the
// running decoy host follows the plan file and stops exactly those deckies.
import type { ParsedArgs } from './args.ts';
import { UsageError, ConfigError } from '../core/errors.ts';
import { defaultPlan } from '../deckies/default-plan.ts';
import { planPath, readPlan, writePlan } from '../deploy/plan-file.ts';
import { runningDecoyHostPid, waitForPlan } from '../deploy/launch.ts';

export default async function teardown(args: ParsedArgs): Promise<number> {
  const all = args.options.all === true;
  const ids = Array.isArray(args.options.id) ? args.options.id : [];
  if (all === ids.length > 0) throw new UsageError('decnet teardown: give either --all or --id NAME (repeatable)');
  const current = (await readPlan()) ?? defaultPlan();
  const known = current.deckies.map((d) => d.name);
  const missing = ids.filter((id) => !known.includes(id));
  if (missing.length > 0) throw new ConfigError(`no decky named ${missing.join(', ')} in the plan (deckies: ${known.join(', ') || 'none'})`);
  const removed = all ? known : ids;
  const plan = { ...current, generated: new Date().toISOString(), deckies: current.deckies.filter((d) => !removed.includes(d.name)) };
  const path = await writePlan(plan, planPath());
  const pid = runningDecoyHostPid();
  if (pid !== undefined) await waitForPlan(plan.generated, { timeoutMs: Math.max(1, Number(args.options.timeout ?? 20)) * 1000 });
  if (args.options.json === true) {
    process.stdout.write(JSON.stringify({ plan_path: path, removed, remaining: plan.deckies.map((d) => d.name), host_pid: pid ?? null }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(`Removed ${removed.length} decky(ies)${removed.length ? `: ${removed.join(', ')}` : ''}; ${plan.deckies.length} remain.\n`);
  process.stdout.write(pid !== undefined ? `The decoy host (pid ${pid}) stopped them.\n` : `Plan written to ${path}; no decoy host is running.\n`);
  return 0;
}
