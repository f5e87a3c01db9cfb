// `decnet ttp`: without an action, runs the ttp worker standalone; `decnet ttp export` writes the
// stored tags as a STIX 2.1 bundle or an ATT&CK Navigator layer; `decnet ttp backfill` replays
// stored events through the rules.
import type { ParsedArgs } from './args.ts';
import { UsageError } from '../core/errors.ts';

export const TTP_ACTIONS = ['export', 'backfill'] as const;
const EXPORT_ONLY = ['format', 'out', 'limit'];
const REPLAY_ONLY = ['since'];
const WORKER_ONLY = ['poll-interval', 'batch', 'anchor-wait'];

function refuse(args: ParsedArgs, names: string[], where: string): void {
  for (const n of names) if (args.options[n] !== undefined && args.options[n] !== false) throw new UsageError(`decnet ttp: --${n} does not apply to ${where}`);
}

export default async function ttp(args: ParsedArgs): Promise<number> {
  const action = args.positionals[0];
  if (action === undefined) {
    refuse(args, [...EXPORT_ONLY, ...REPLAY_ONLY, 'json'], 'the worker (did you mean `decnet ttp export` or `decnet ttp backfill`?)');
    const { runStandaloneCommand } = await import('../fleet/standalone.ts');
    const options: ParsedArgs['options'] = {};
    for (const n of WORKER_ONLY) if (args.options[n] !== undefined) options[n] = args.options[n];
    return runStandaloneCommand('ttp', { options, positionals: [] });
  }
  if (action === 'export') {
    refuse(args, WORKER_ONLY, '`decnet ttp export`');
    return runExport(args);
  }
  if (action === 'backfill') {
    refuse(args, [...WORKER_ONLY, ...EXPORT_ONLY], '`decnet ttp backfill`');
    return runBackfill(args);
  }
  throw new UsageError(`decnet ttp: unknown action ${JSON.stringify(action)}; use export or backfill (or no action to run the worker)`);
}

async function runExport(args: ParsedArgs): Promise<number> {
  const format = args.options.format;
  if (format !== 'stix' && format !== 'navigator') throw new UsageError('decnet ttp export: --format stix or --format navigator is required');
  const { parseSince } = await import('../core/duration.ts');
  const sinceMs = typeof args.options.since === 'string' ? parseSince(args.options.since) : undefined;
  const limit = args.options.limit === undefined ? undefined : Number(args.options.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000)) throw new UsageError('decnet ttp export: --limit must be a whole number from 1 to 1000000');
  const { loadAttackCatalogue } = await import('../intel/ttp/catalogue.ts');
  const catalogue = loadAttackCatalogue();
  const { openDatabase } = await import('../db/connection.ts');
  const db = await openDatabase();
  try {
    const { exportStoredTags } = await import('../intel/ttp/export-tags.ts');
    const result = await exportStoredTags(db, { format, catalogue, sinceMs, limit });
    const text = JSON.stringify(result.document, null, 2) + '\n';
    const out = args.options.out;
    const note = `${result.tags} tag${result.tags === 1 ? '' : 's'}${result.skipped ? `, ${result.skipped} skipped (technique not in ATT&CK ${catalogue.version} or no attacker address)` : ''}${result.truncated ? `; only the oldest ${limit ?? 200_000} were read (raise --limit or narrow --since)` : ''}`;
    if (typeof out === 'string' && out !== '-') {
      const { writeFileAtomic } = await import('./write-file.ts');
      writeFileAtomic(out, text);
      process.stdout.write(`wrote ${format === 'stix' ? 'a STIX 2.1 bundle' : 'an ATT&CK Navigator layer'} of ${note} to ${out}\n`);
    } else {
      process.stdout.write(text);
      process.stderr.write(`decnet ttp export: ${note}\n`);
    }
    return 0;
  } finally {
    await db.close();
  }
}

async function runBackfill(args: ParsedArgs): Promise<number> {
  const { parseSince } = await import('../core/duration.ts');
  const sinceText = typeof args.options.since === 'string' ? args.options.since : '7d';
  const sinceMs = parseSince(sinceText);
  const { loadTtpEngine } = await import('../intel/ttp/load-engine.ts');
  const { engine, problems } = await loadTtpEngine({ strict: false });
  for (const p of problems) process.stderr.write(`decnet ttp backfill: rule skipped: ${p.file}:${p.line}:${p.column}: ${p.message}\n`);
  const { openDatabase } = await import('../db/connection.ts');
  const db = await openDatabase();
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  try {
    const { backfillTags } = await import('../intel/ttp/backfill.ts');
    const result = await backfillTags(db, engine, { sinceMs, signal: abort.signal });
    if (args.options.json) process.stdout.write(JSON.stringify({ since: new Date(sinceMs).toISOString(), interrupted: abort.signal.aborted, ...result }, null, 2) + '\n');
    else {
      process.stdout.write(
        `replayed ${result.events} events (${result.rows} log rows since ${new Date(sinceMs).toISOString()}): ` +
          `${result.tags_matched} tags matched, ${result.tags_inserted} new` +
          (result.attackers_anchored ? `, ${result.attackers_anchored} attacker rows created for unprofiled addresses` : '') +
          (abort.signal.aborted ? ' (interrupted)' : '') +
          '\n',
      );
    }
    return abort.signal.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', stop);
    await db.close();
  }
}
