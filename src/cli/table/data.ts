// Command-table entries of the Data group (data only: loading this file loads no implementation).
import type { CommandSpec } from '../commands.ts';

export const DATA_COMMANDS: CommandSpec[] = [
  {
    name: 'db',
    group: 'data',
    summary: 'the database schema: migrate, status (version and row counts), reset',
    args: [{ name: 'action', summary: 'migrate | status | reset', required: true }],
    options: [
      { name: 'url', type: 'string', value: 'URL', summary: 'database URL (default: $DECNET_DB_URL, else sqlite:<data dir>/decnet.db)' },
      { name: 'yes', type: 'boolean', summary: 'with reset: confirm wiping every table' },
      { name: 'json', type: 'boolean', summary: 'print machine-readable JSON' },
    ],
    load: () => import('../db.ts').then((m) => m.default),
  },
];
