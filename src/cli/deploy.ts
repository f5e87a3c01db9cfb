// `decnet deploy`: builds a deploy plan from an INI file or from flags, prints it (--dry-run), or
// writes it atomically and makes sure a decoy host runs it.
import { readFile } from 'node:fs/promises';
import type { ParsedArgs } from './args.ts';
import { UsageError, ConfigError, errorMessage } from '../core/errors.ts';
import { buildPlan, checkServiceConfig, type DeckyRequest, type NetworkRequest } from '../deploy/build.ts';
import { parseDeployIni } from '../deploy/ini-config.ts';
import { describePlan } from '../deploy/describe.ts';
import { planPath, writePlan } from '../deploy/plan-file.ts';
import { runningDecoyHostPid, startDecoyHostProcess, waitForPlan, type StartedHost } from '../deploy/launch.ts';
import type { DeployPlan } from '../deckies/plan.ts';
import { renderDeckies } from './deckies-view.ts';

const MAX_DECKIES_FLAG = 1000;

function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function list(args: ParsedArgs, name: string): string[] | undefined {
  const v = args.options[name];
  return Array.isArray(v) && v.length > 0 ? v : undefined;
}

async function fromConfig(file: string, args: ParsedArgs): Promise<{ plan: DeployPlan; whereOf: (d: string, s: string) => string }> {
  for (const flag of ['deckies', 'archetype', 'services', 'distro']) {
    if (args.options[flag] !== undefined) throw new UsageError(`decnet deploy: --${flag} cannot be combined with --config (put it in the INI file)`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${file}: ${errorMessage(err)}`);
  }
  const ini = parseDeployIni(text, file);
  const network: NetworkRequest = { ...ini.network };
  if (str(args, 'subnet')) network.subnet = str(args, 'subnet');
  if (str(args, 'gateway')) network.gateway = str(args, 'gateway');
  if (str(args, 'ip-start')) network.ipStart = str(args, 'ip-start');
  const plan = buildPlan(ini.deckies, network, { randomize: args.options['randomize-services'] === true });
  return { plan, whereOf: (d, s) => ini.configLines.get(`${d}|${s}`) ?? file };
}

function fromFlags(args: ParsedArgs): DeployPlan {
  const count = args.options.deckies;
  if (count === undefined) throw new UsageError('decnet deploy: give --config FILE, or --deckies N with --archetype, --services or --randomize-services');
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_DECKIES_FLAG) throw new UsageError(`decnet deploy: --deckies must be a whole number from 1 to ${MAX_DECKIES_FLAG}`);
  const archetype = str(args, 'archetype');
  const services = list(args, 'services');
  const randomize = args.options['randomize-services'] === true;
  if (!archetype && !services && !randomize) throw new UsageError('decnet deploy: say what the deckies run: --archetype A, --services a,b or --randomize-services');
  const distros = list(args, 'distro');
  const requests: DeckyRequest[] = Array.from({ length: count }, (_, i) => {
    const r: DeckyRequest = { name: `decky-${String(i + 1).padStart(2, '0')}`, where: 'decnet deploy' };
    if (archetype) r.archetype = archetype;
    if (services) r.services = services;
    if (distros) r.distro = distros[i % distros.length];
    return r;
  });
  return buildPlan(requests, { subnet: str(args, 'subnet'), gateway: str(args, 'gateway'), ipStart: str(args, 'ip-start') }, { randomize });
}

export default async function deploy(args: ParsedArgs): Promise<number> {
  const config = str(args, 'config');
  let plan: DeployPlan;
  if (config) {
    const built = await fromConfig(config, args);
    await checkServiceConfig(built.plan, built.whereOf);
    plan = built.plan;
  } else {
    plan = fromFlags(args);
  }
  const json = args.options.json === true;

  if (args.options['dry-run'] === true) {
    if (json) process.stdout.write(JSON.stringify({ dry_run: true, plan }, null, 2) + '\n');
    else {
      process.stdout.write(`Subnet ${plan.subnet ?? '-'}${plan.gateway ? `  Gateway ${plan.gateway}` : ''}  Deckies ${plan.deckies.length}\n\n`);
      process.stdout.write(renderDeckies(describePlan(plan, undefined)));
      process.stdout.write(`\nDry run: nothing written, nothing started (the plan would go to ${planPath()}).\n`);
    }
    return 0;
  }

  const path = await writePlan(plan);
  const start = args.options.start !== false;
  const timeoutMs = Math.max(1, Number(args.options.timeout ?? 20)) * 1000;
  let started: StartedHost | undefined;
  const runningPid = runningDecoyHostPid();
  if (runningPid === undefined && start) started = startDecoyHostProcess();
  let deckies = describePlan(plan, undefined);
  if (runningPid !== undefined || started) {
    const live = await waitForPlan(plan.generated, { started, timeoutMs });
    deckies = describePlan(plan, live);
  }
  if (json) {
    process.stdout.write(JSON.stringify({ plan_path: path, host_pid: runningPid ?? started?.pid ?? null, started: started !== undefined, deckies }, null, 2) + '\n');
  } else {
    process.stdout.write(renderDeckies(deckies, { state: runningPid !== undefined || started !== undefined }));
    process.stdout.write(`\nPlan written to ${path}.\n`);
    if (started) process.stdout.write(`Started the decoy host (pid ${started.pid}); stop it with \`kill ${started.pid}\` or run it under \`decnet up\`.\n`);
    else if (runningPid !== undefined) process.stdout.write(`The running decoy host (pid ${runningPid}) applied it.\n`);
    else process.stdout.write('No decoy host is running; start one with `decnet deckies` or `decnet up`.\n');
  }
  return deckies.some((d) => d.state === 'down') ? 1 : 0;
}
