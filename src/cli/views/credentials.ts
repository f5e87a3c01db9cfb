// `decnet credentials`: the credentials attackers tried (one row per attacker, decky, service,
// principal and secret), or with --reuse the secrets tried on several deckies, services or from
// several source IPs.
import type { ParsedArgs } from '../args.ts';
import { openDatabase } from '../../db/connection.ts';
import { listCredentialReuse, listCredentials } from '../../db/credentials/repo.ts';
import { renderTable } from '../table.ts';
import { limitOption } from './attackers.ts';
import { safeText, shortTime } from './safe-text.ts';

export default async function credentials(args: ParsedArgs): Promise<number> {
  const limit = limitOption(args, 30);
  const db = await openDatabase();
  try {
    if (args.options.reuse) {
      const page = await listCredentialReuse(db, { limit });
      if (args.options.json) {
        process.stdout.write(JSON.stringify(page, null, 2) + '\n');
        return 0;
      }
      if (page.total === 0) {
        process.stdout.write('no credential reuse found yet\n');
        return 0;
      }
      const rows = page.data.map((r) => [
        shortTime(r.last_seen),
        safeText(r.principal, 20),
        safeText(r.secret_kind, 20),
        `sha256:${r.secret_sha256.slice(0, 12)}`,
        String(r.target_count),
        String(r.attacker_ips.length),
        String(r.attempt_count),
        safeText(r.deckies.join(','), 30),
        safeText(r.services.join(','), 20),
        safeText(r.attacker_ips.join(','), 40),
      ]);
      process.stdout.write(renderTable(['LAST SEEN', 'PRINCIPAL', 'KIND', 'SECRET', 'TARGETS', 'IPS', 'TRIES', 'DECKIES', 'SERVICES', 'ATTACKERS'], rows, [4, 5, 6]));
      if (page.total > page.data.length) process.stdout.write(`${page.data.length} of ${page.total} reused secrets (--limit to see more)\n`);
      return 0;
    }
    const page = await listCredentials(db, {
      limit,
      service: (args.options.service as string | undefined) ?? null,
      attacker_ip: (args.options.attacker as string | undefined) ?? null,
      search: (args.options.search as string | undefined) ?? null,
    });
    if (args.options.json) {
      process.stdout.write(JSON.stringify(page, null, 2) + '\n');
      return 0;
    }
    if (page.total === 0) {
      process.stdout.write('no credentials captured yet\n');
      return 0;
    }
    const rows = page.data.map((c) => [
      shortTime(c.last_seen),
      c.attacker_ip,
      safeText(c.decky_name, 20),
      safeText(c.service, 10),
      safeText(c.principal, 24),
      safeText(c.secret_printable ?? `sha256:${c.secret_sha256.slice(0, 12)}`, 32),
      safeText(c.secret_kind, 22),
      String(c.attempt_count),
      c.outcome,
    ]);
    process.stdout.write(renderTable(['LAST SEEN', 'ATTACKER', 'DECKY', 'SERVICE', 'PRINCIPAL', 'SECRET', 'KIND', 'TRIES', 'OUTCOME'], rows, [7]));
    if (page.total > page.data.length) process.stdout.write(`${page.data.length} of ${page.total} credentials (--limit to see more)\n`);
    return 0;
  } finally {
    await db.close();
  }
}
