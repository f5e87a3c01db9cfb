// Every domain's schema, in creation order (a table comes after the tables it references), and
// the migration list. Heavy on purpose and loaded only by the migrator and `decnet db`: a worker
// never imports this module, so it never loads another domain's schema.
import type { Db } from './types.ts';
import type { Migration } from './migrations.ts';
import * as state from './state/schema.ts';
import * as campaigns from './campaigns/schema.ts';
import * as identities from './identities/schema.ts';
import * as attackers from './attackers/schema.ts';
import * as fingerprints from './fingerprints/schema.ts';
import * as intel from './intel/schema.ts';
import * as attribution from './attribution/schema.ts';
import * as observations from './observations/schema.ts';
import * as smtp from './smtp/schema.ts';
import * as logs from './logs/schema.ts';
import * as bounty from './bounty/schema.ts';
import * as credentials from './credentials/schema.ts';
import * as ttp from './ttp/schema.ts';
import * as canary from './canary/schema.ts';
import * as webhooks from './webhooks/schema.ts';
import * as deckies from './deckies/schema.ts';
import * as fleet from './fleet/schema.ts';
import * as swarm from './swarm/schema.ts';
import * as topology from './topology/schema.ts';
import * as orchestrator from './orchestrator/schema.ts';
import * as realism from './realism/schema.ts';
import * as tarpit from './tarpit/schema.ts';
import * as auth from './auth/schema.ts';

export interface DomainSchema {
  readonly name: string;
  readonly tables: readonly string[];
  createTables(db: Db): Promise<void>;
}

const domain = (name: string, module: { TABLES: readonly string[]; createTables(db: Db): Promise<void> }): DomainSchema => ({
  name,
  tables: module.TABLES,
  createTables: module.createTables,
});

export const DOMAINS: readonly DomainSchema[] = [
  domain('state', state),
  domain('campaigns', campaigns),
  domain('identities', identities),
  domain('attackers', attackers),
  domain('fingerprints', fingerprints),
  domain('intel', intel),
  domain('attribution', attribution),
  domain('observations', observations),
  domain('smtp', smtp),
  domain('logs', logs),
  domain('bounty', bounty),
  domain('credentials', credentials),
  domain('ttp', ttp),
  domain('canary', canary),
  domain('webhooks', webhooks),
  domain('deckies', deckies),
  domain('fleet', fleet),
  domain('swarm', swarm),
  domain('topology', topology),
  domain('orchestrator', orchestrator),
  domain('realism', realism),
  domain('tarpit', tarpit),
  domain('auth', auth),
];

/** Every table, parents before children (drop in reverse). */
export const ALL_TABLES: readonly string[] = DOMAINS.flatMap((d) => d.tables);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'baseline',
    async up(db) {
      for (const d of DOMAINS) await d.createTables(db);
    },
  },
];
