// Command-table entries for ATT&CK tagging and webhooks (data only: DESIGN §6 rule 3). `decnet ttp`
// and `decnet webhook` run their worker when given no action, so they replace the plain worker
// commands of the same name.
import type { CommandSpec } from '../commands.ts';
import type { OptionSpec } from '../args.ts';

const JSON_OPT: OptionSpec = { name: 'json', type: 'boolean', summary: 'print machine-readable JSON' };

export const HERD_COMMANDS: CommandSpec[] = [
  {
    name: 'ttp',
    group: 'intel',
    worker: 'ttp',
    summary: 'ATT&CK tagging: run the tagger, export tags (STIX 2.1, Navigator), replay stored events',
    args: [{ name: 'action', summary: 'export | backfill (none: run the ttp worker)' }],
    options: [
      { name: 'format', type: 'string', value: 'FORMAT', summary: 'export: stix (a STIX 2.1 bundle) or navigator (an ATT&CK Navigator layer)', choices: ['stix', 'navigator'] },
      { name: 'out', short: 'o', type: 'string', value: 'FILE', summary: 'export: write to FILE instead of standard output' },
      { name: 'since', type: 'string', value: 'WHEN', summary: 'export, backfill: events since a duration ago (7d, 12h) or an ISO time (backfill default: 7d)' },
      { name: 'limit', type: 'number', value: 'N', summary: 'export: read at most N tags (default 200000)' },
      { name: 'poll-interval', type: 'number', value: 'SECONDS', summary: 'worker: fallback tick when no ingest notice arrives (default 60)' },
      { name: 'batch', type: 'number', value: 'ROWS', summary: 'worker: log rows per transaction (default 500)' },
      { name: 'anchor-wait', type: 'number', value: 'SECONDS', summary: 'worker: how long a tag waits for the profiler to record its attacker (default 600)' },
      JSON_OPT,
    ],
    load: () => import('../ttp.ts').then((m) => m.default),
  },
  {
    name: 'webhook',
    group: 'intel',
    worker: 'webhook',
    summary: 'signed webhooks: run the deliverer, or add | list | test | enable | remove subscriptions',
    args: [
      { name: 'action', summary: 'add | list | test | enable | remove (none: run the webhook worker)' },
      { name: 'id', summary: 'test, enable, remove: the subscription id or name' },
    ],
    options: [
      { name: 'url', type: 'string', value: 'URL', summary: 'add: where to POST (https:// preferred)' },
      { name: 'events', type: 'list', value: 'PATTERNS', summary: "add: bus subject patterns, comma-separated (e.g. 'attacker.*,ttp.>')" },
      { name: 'name', type: 'string', value: 'NAME', summary: 'add: a unique name (default: the URL host)' },
      { name: 'secret', type: 'string', value: 'SECRET', summary: 'add: HMAC signing secret, 16-128 characters (default: generated and printed once)' },
      { name: 'allow-private', type: 'boolean', summary: 'add: allow private, loopback and link-local destinations' },
      { name: 'rate', type: 'number', value: 'PER_MINUTE', summary: 'add: at most this many deliveries per minute (default: $DECNET_WEBHOOK_RATE_PER_MIN or 600)' },
      JSON_OPT,
    ],
    load: () => import('../webhook.ts').then((m) => m.default),
  },
  {
    name: 'geo-compile',
    group: 'intel',
    hidden: true,
    summary: 'compile one offline geolocation table (run by the enrich worker in a child process)',
    args: [
      { name: 'table', summary: 'country4 | country6 | asn4 | asn6', required: true },
      { name: 'csv', summary: 'the ip-location-db "-num" CSV file', required: true },
      { name: 'out', summary: 'the table file to write', required: true },
    ],
    options: [],
    load: () => import('../../intel/enrich/geo-compile.ts').then((m) => m.default),
  },
];
