// Where the event logs live (DESIGN §4, §5). The decoy host appends to the decoy log; the collector
// appends the lines it normalises from other RFC 5424 sources to the collector log; the ingester
// tails both. Kept here, apart from the decoy host, so the capture workers never load decoy code.
import { join } from 'node:path';
import { envString } from '../core/env.ts';
import { dataDir } from '../core/paths.ts';

/** The decoy host's event log: DECNET_EVENT_LOG, else <data dir>/events/decoy.log. */
export function decoyEventLogPath(root = dataDir()): string {
  return envString('DECNET_EVENT_LOG') ?? join(root, 'events', 'decoy.log');
}

/** The collector's normalised log: DECNET_COLLECTOR_LOG, else <data dir>/events/collector.log. */
export function collectorLogPath(): string {
  return envString('DECNET_COLLECTOR_LOG') ?? join(dataDir(), 'events', 'collector.log');
}

/** How a source's lines are told apart when the same stretch of file is read twice. */
export type DedupeMode =
  /** Line text plus its byte offset: identical events written twice by the decoy host stay two rows. */
  | 'position'
  /** Line text only: a line a sender delivered twice (at-least-once syslog relays) is stored once. */
  | 'line';

export interface IngestSource {
  path: string;
  dedupe: DedupeMode;
}

/** The logs the ingester tails by default. */
export function defaultIngestSources(): IngestSource[] {
  return [
    { path: decoyEventLogPath(), dedupe: 'position' },
    { path: collectorLogPath(), dedupe: 'line' },
  ];
}
