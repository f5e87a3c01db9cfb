// Fingerprint-state repository: the prober remembers the last fingerprint per (attacker, port,
// probe) and learns when it changes (tool rotation), which it also counts on the attacker row.
import type { Kysely } from 'kysely';
import { uuidv7 } from '../../core/ids.ts';
import type { AttackersTables } from '../attackers/schema.ts';
import type { Db } from '../types.ts';
import type { FingerprintsTables } from './schema.ts';
import { inTransaction } from '../query.ts';
import { name, num, oneOf, port, text, time } from '../values.ts';

export const PROBE_TYPES = ['jarm', 'hassh', 'tcpfp'] as const;

export interface FingerprintResult {
  /** The fingerprint differs from the one stored before (false on first sight). */
  rotated: boolean;
  previous_hash: string | null;
  rotation_count: number;
}

export interface FingerprintStateRow {
  attacker_uuid: string;
  port: number;
  probe_type: string;
  last_hash: string;
  last_seen: string;
  rotation_count: number;
}

const q = (db: Db) => db.kysely as Kysely<FingerprintsTables & AttackersTables>;

export async function recordFingerprint(db: Db, attackerUuid: string, probePort: number, probeType: (typeof PROBE_TYPES)[number], hash: string, seenAt: string | Date | number = Date.now()): Promise<FingerprintResult> {
  const attacker = name('attacker_uuid', attackerUuid);
  const p = port('port', probePort)!;
  const type = oneOf('probe_type', probeType, PROBE_TYPES);
  const h = text('hash', hash, 'hash');
  const seen = time('seen_at', seenAt);
  return inTransaction(db, async (tx) => {
    const prior = await q(tx)
      .selectFrom('attacker_fingerprint_state')
      .select(['last_hash', 'rotation_count'])
      .where('attacker_uuid', '=', attacker)
      .where('port', '=', p)
      .where('probe_type', '=', type)
      .executeTakeFirst();
    if (!prior) {
      await q(tx).insertInto('attacker_fingerprint_state').values({ uuid: uuidv7(), attacker_uuid: attacker, port: p, probe_type: type, last_hash: h, last_seen: seen, rotation_count: 0 }).execute();
      return { rotated: false, previous_hash: null, rotation_count: 0 };
    }
    const rotated = prior.last_hash !== h;
    const count = num(prior.rotation_count) + (rotated ? 1 : 0);
    await q(tx)
      .updateTable('attacker_fingerprint_state')
      .set({ last_hash: h, last_seen: seen, rotation_count: count })
      .where('attacker_uuid', '=', attacker)
      .where('port', '=', p)
      .where('probe_type', '=', type)
      .execute();
    if (rotated) {
      await q(tx)
        .updateTable('attackers')
        .set((eb) => ({ rotation_count: eb('rotation_count', '+', 1), last_rotation_at: seen, updated_at: new Date().toISOString() }))
        .where('uuid', '=', attacker)
        .execute();
    }
    return { rotated, previous_hash: prior.last_hash, rotation_count: count };
  });
}

export async function listFingerprintState(db: Db, attackerUuid: string): Promise<FingerprintStateRow[]> {
  const rows = await q(db)
    .selectFrom('attacker_fingerprint_state')
    .select(['attacker_uuid', 'port', 'probe_type', 'last_hash', 'last_seen', 'rotation_count'])
    .where('attacker_uuid', '=', name('attacker_uuid', attackerUuid))
    .orderBy('port')
    .orderBy('probe_type')
    .execute();
  return rows.map((r) => ({ ...r, port: num(r.port), rotation_count: num(r.rotation_count) }));
}
