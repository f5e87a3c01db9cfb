// `decnet attacker <ip>`: one attacker's profile: when and where it was seen, how it behaved, what
// it ran, which credentials it tried and where those were reused.
import { isIP } from 'node:net';
import type { ParsedArgs } from '../args.ts';
import { UsageError } from '../../core/errors.ts';
import { openDatabase } from '../../db/connection.ts';
import { getAttackerByIp, getBehavior } from '../../db/attackers/repo.ts';
import { listCredentials } from '../../db/credentials/repo.ts';
import { colour, renderTable } from '../table.ts';
import { safeText, shortTime } from './safe-text.ts';

interface PhaseEntry {
  phase: string;
  first_seen: string;
  last_seen: string;
  count: number;
}

const num = (v: unknown, digits = 2) => (typeof v === 'number' ? v.toFixed(digits) : '-');

export default async function attacker(args: ParsedArgs): Promise<number> {
  const address = args.positionals[0] ?? '';
  if (!isIP(address)) throw new UsageError(`${JSON.stringify(address)} is not an IP address; usage: decnet attacker <ip>`);
  const commandLimit = Number(args.options.commands ?? 20);
  if (!Number.isInteger(commandLimit) || commandLimit < 0 || commandLimit > 500) throw new UsageError('--commands must be a whole number from 0 to 500');
  const db = await openDatabase();
  try {
    const a = await getAttackerByIp(db, address);
    if (!a) {
      process.stderr.write(`no attacker ${address} recorded (see decnet attackers)\n`);
      return 1;
    }
    const b = await getBehavior(db, a.uuid);
    const creds = await listCredentials(db, { attacker_ip: a.ip, limit: 50 });
    if (args.options.json) {
      process.stdout.write(JSON.stringify({ attacker: a, behavior: b ?? null, credentials: creds }, null, 2) + '\n');
      return 0;
    }
    const out: string[] = [];
    const kv = (k: string, v: string) => out.push(`  ${k.padEnd(14)} ${v}`);
    out.push(colour.bold(`Attacker ${a.ip}`) + colour.dim(`  (${a.uuid})`));
    kv('first seen', shortTime(a.first_seen));
    kv('last seen', shortTime(a.last_seen));
    kv('events', String(a.event_count));
    kv('services', safeText(a.services.join(', '), 120));
    kv('deckies', safeText(a.deckies.join(', '), 120));
    if (a.is_traversal) kv('traversal', safeText(a.traversal_path, 200));
    kv('credentials', String(a.credential_count));
    kv('fingerprints', String(a.bounty_count));
    if (a.country_code || a.as_name) kv('origin', [a.country_code, a.asn ? `AS${a.asn}` : null, a.as_name].filter(Boolean).map((s) => safeText(s, 60)).join(' '));
    if (b) {
      const t = (b.timing_stats ?? {}) as Record<string, unknown>;
      out.push('', colour.bold('Behaviour'));
      kv('class', b.behavior_class ?? '-');
      if (b.behavior_class === 'beaconing') kv('beacon', `every ${num(b.beacon_interval_s, 1)} s, jitter ${num(b.beacon_jitter_pct, 1)} %`);
      kv('tools', safeText((b.tool_guesses ?? []).join(', ') || '-', 120));
      kv('timing', `mean ${num(t.mean_iat_s)} s, median ${num(t.median_iat_s)} s, stdev ${num(t.stdev_iat_s)} s, cv ${num(t.cv)} over ${t.iat_count ?? 0} intervals`);
      if (b.ssh_client_banners?.length) kv('ssh clients', safeText(b.ssh_client_banners.join(', '), 160));
      const phases = (b.phase_sequence ?? []) as PhaseEntry[];
      if (phases.length > 0) {
        out.push('', colour.bold('Kill chain'));
        out.push(
          renderTable(
            ['PHASE', 'FIRST', 'LAST', 'EVENTS'],
            phases.map((p) => [p.phase, shortTime(p.first_seen), shortTime(p.last_seen), String(p.count)]),
            [3],
          ).trimEnd().replace(/^/gm, '  '),
        );
      }
    }
    if (a.fingerprints.length > 0) {
      out.push('', colour.bold('Fingerprints'));
      const fps = a.fingerprints as { type?: string; value?: string; tool?: string | null; service?: string | null }[];
      out.push(renderTable(['TYPE', 'VALUE', 'TOOL', 'SERVICE'], fps.slice(-20).map((f) => [safeText(f.type, 16), safeText(f.value, 64), safeText(f.tool ?? '-', 20), safeText(f.service ?? '-', 12)])).trimEnd().replace(/^/gm, '  '));
    }
    if (commandLimit > 0 && a.commands.length > 0) {
      out.push('', colour.bold(`Commands (last ${Math.min(commandLimit, a.commands.length)} of ${a.commands.length})`));
      const recent = a.commands.slice(-commandLimit);
      out.push(renderTable(['TIME', 'DECKY', 'SERVICE', 'COMMAND'], recent.map((c) => [shortTime(c.timestamp), safeText(c.decky, 20), safeText(c.service, 10), safeText(c.command, 100)])).trimEnd().replace(/^/gm, '  '));
    }
    if (creds.total > 0) {
      out.push('', colour.bold(`Credentials (${creds.data.length} of ${creds.total})`));
      out.push(
        renderTable(
          ['LAST SEEN', 'DECKY', 'SERVICE', 'PRINCIPAL', 'SECRET', 'KIND', 'TRIES', 'OUTCOME'],
          creds.data.map((c) => [shortTime(c.last_seen), safeText(c.decky_name, 20), safeText(c.service, 10), safeText(c.principal, 24), safeText(c.secret_printable ?? `sha256:${c.secret_sha256.slice(0, 12)}`, 32), safeText(c.secret_kind, 22), String(c.attempt_count), c.outcome]),
          [6],
        ).trimEnd().replace(/^/gm, '  '),
      );
    }
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } finally {
    await db.close();
  }
}
