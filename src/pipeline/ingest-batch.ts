// One ingest batch, written in one transaction: the events' `logs` rows, the credentials and
// fingerprint findings of the events that were new, and the tail position after the batch. A
// crash before the commit leaves nothing and the next run re-reads the same lines; a crash after
// it re-reads nothing. The logs table's unique key absorbs any line read twice regardless.
import { hash } from 'node:crypto';
import type { Db } from '../db/types.ts';
import { inTransaction } from '../db/query.ts';
import { appendLogs } from '../db/logs/repo.ts';
import { upsertCredential, upsertCredentials } from '../db/credentials/repo.ts';
import { addBounties } from '../db/bounty/repo.ts';
import { setState } from '../db/state/repo.ts';
import { DataError } from '../db/values.ts';
import type { EventRecord } from './rfc5424.ts';
import { bountiesOf, credentialOf, logRow, type BountyFinding, type CredentialFinding } from './extract.ts';

export interface BatchEvent {
  record: EventRecord;
  /** De-duplication identity (see extract.ts positionIdentity); the line itself when omitted. */
  identity?: string;
}

export interface CapturedCredential {
  secret_sha256: string;
  secret_kind: string;
  attacker_ip: string;
  decky: string;
  service: string;
  principal: string | null;
}

export interface BatchResult {
  inserted: number;
  duplicates: number;
  /** Events the database refused (bad field values), with the reason. */
  rejected: { record: EventRecord; error: string }[];
  /** Records stored now, in input order. */
  stored: EventRecord[];
  /** Credentials seen for the first time. */
  newCredentials: CapturedCredential[];
  /** Credential sightings that failed validation (kept as log rows only). */
  credentialErrors: number;
  /** Findings stored now. */
  bounties: number;
  /** Keys of every finding of the batch (stored now or before). */
  bountyKeys: string[];
}

/** The identity of a finding as the bounty table de-duplicates it (type, IP, payload), as a short digest. */
export function bountyKey(b: BountyFinding): string {
  return hash('sha1', `${b.bounty_type}\0${b.attacker_ip ?? ''}\0${JSON.stringify(b.payload)}`, 'base64');
}

/**
 * Writes a batch. `knownBounties` (optional) holds findings already stored by earlier commits:
 * they are not sent to the database again (it would ignore them anyway). The caller adds
 * `result.bountyKeys` to it only after this commit succeeded.
 */
export async function commitBatch(db: Db, events: readonly BatchEvent[], stateKey: string, state: unknown, knownBounties?: { has(key: string): boolean }): Promise<BatchResult> {
  return inTransaction(db, async (tx) => {
    const rows = events.map((e) => logRow(e.record, e.identity));
    const appended = await appendLogs(tx, rows, { skipInvalid: true, reportInserted: true });
    const stored = (appended.insertedIndexes ?? []).map((i) => events[i].record);
    const newCredentials: CapturedCredential[] = [];
    let credentialErrors = 0;
    const bounties: BountyFinding[] = [];
    const seen = new Set<string>();
    const creds: CredentialFinding[] = [];
    for (const rec of stored) {
      const cred = credentialOf(rec);
      if (cred) creds.push(cred);
      for (const b of bountiesOf(rec)) {
        const key = bountyKey(b);
        if (seen.has(key) || knownBounties?.has(key)) continue;
        seen.add(key);
        bounties.push(b);
      }
    }
    const noteNew = (cred: CredentialFinding, r: { inserted: boolean; secret_sha256: string }) => {
      if (r.inserted) newCredentials.push({ secret_sha256: r.secret_sha256, secret_kind: cred.secret_kind, attacker_ip: cred.attacker_ip, decky: cred.decky_name, service: cred.service, principal: cred.principal });
    };
    if (creds.length > 0) {
      try {
        const results = await upsertCredentials(tx, creds);
        results.forEach((r, i) => noteNew(creds[i], r));
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        // Validation runs before any write: store the valid ones one by one, count the others.
        for (const cred of creds) {
          try {
            noteNew(cred, await upsertCredential(tx, cred));
          } catch (e) {
            if (!(e instanceof DataError)) throw e;
            credentialErrors++;
          }
        }
      }
    }
    let bountyCount = 0;
    try {
      bountyCount = bounties.length > 0 ? await addBounties(tx, bounties) : 0;
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      // One bad finding must not block the stream: store the others one by one.
      for (const b of bounties) bountyCount += await addBounties(tx, [b]).catch((e) => (e instanceof DataError ? 0 : Promise.reject(e)));
    }
    await setState(tx, stateKey, state);
    return {
      inserted: appended.inserted,
      duplicates: appended.duplicates,
      rejected: appended.rejected.map((r) => ({ record: events[r.index].record, error: r.error })),
      stored,
      newCredentials,
      credentialErrors,
      bounties: bountyCount,
      bountyKeys: [...seen],
    };
  });
}
