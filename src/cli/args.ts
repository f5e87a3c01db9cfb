// Command-line parsing against a command's declared options. Small on purpose: `decnet --help`
// must stay fast and load nothing else.
import { UsageError } from '../core/errors.ts';

export type OptionType = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  /** Long name without dashes, e.g. 'layout' for --layout. */
  name: string;
  short?: string;
  type: OptionType;
  summary: string;
  /** Placeholder shown in help, e.g. 'FILE'. */
  value?: string;
  default?: string | number | boolean;
  /** Allowed values for a string option. */
  choices?: readonly string[];
}

export interface ArgSpec {
  name: string;
  summary: string;
  required?: boolean;
  /** Takes every remaining positional argument. */
  rest?: boolean;
}

export interface ParsedArgs {
  options: Record<string, string | number | boolean | string[] | undefined>;
  positionals: string[];
}

export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) dp[i][j] = Math.min(dp[i][j], dp[i - 2][j - 2] + 1);
    }
  }
  return dp[a.length][b.length];
}

/** The closest candidate, if close enough to be a plausible typo. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = candidate.startsWith(input) && input.length >= 3 ? 1 : editDistance(input, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(input.length / 3)) ? best : undefined;
}

function didYouMean(input: string, candidates: readonly string[], prefix = ''): string {
  const hit = suggest(input, candidates);
  return hit ? ` (did you mean ${prefix}${hit}?)` : '';
}

function convert(spec: OptionSpec, raw: string, where: string): string | number {
  if (spec.type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${where}: --${spec.name} expects a number, got ${JSON.stringify(raw)}`);
    return n;
  }
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UsageError(`${where}: --${spec.name} must be one of ${spec.choices.join(', ')}; got ${JSON.stringify(raw)}${didYouMean(raw, spec.choices)}`);
  }
  return raw;
}

export function parseArgs(argv: readonly string[], options: readonly OptionSpec[], args: readonly ArgSpec[], where: string): ParsedArgs {
  const byName = new Map(options.map((o) => [o.name, o]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o]));
  const parsed: ParsedArgs = { options: {}, positionals: [] };
  for (const o of options) if (o.default !== undefined) parsed.options[o.name] = o.default;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: OptionSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
      spec = byName.get(name);
      if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean' && inline === undefined) {
        parsed.options[name.slice(3)] = false;
        continue;
      }
      if (!spec) throw new UsageError(`${where}: unknown option --${name}${didYouMean(name, [...byName.keys()], '--')}`);
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      spec = byShort.get(arg.slice(1));
      if (!spec) throw new UsageError(`${where}: unknown option ${arg}`);
    } else {
      parsed.positionals.push(arg);
      continue;
    }
    if (spec.type === 'boolean') {
      if (inline !== undefined && !['true', 'false'].includes(inline)) throw new UsageError(`${where}: --${spec.name} takes no value`);
      parsed.options[spec.name] = inline === undefined ? true : inline === 'true';
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`${where}: --${spec.name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
    if (spec.type === 'list') {
      const list = (parsed.options[spec.name] as string[] | undefined) ?? [];
      const prior = Array.isArray(list) ? list : [];
      parsed.options[spec.name] = [...prior, ...raw.split(',').map((s) => s.trim()).filter(Boolean)];
    } else {
      parsed.options[spec.name] = convert(spec, raw, where);
    }
  }

  const required = args.filter((a) => a.required);
  if (parsed.positionals.length < required.length) {
    throw new UsageError(`${where}: missing argument ${required[parsed.positionals.length].name.toUpperCase()}`);
  }
  if (!args.some((a) => a.rest) && parsed.positionals.length > args.length) {
    throw new UsageError(`${where}: unexpected argument ${JSON.stringify(parsed.positionals[args.length])}`);
  }
  return parsed;
}
