// Turns a stored or parsed event record (the pipeline's RFC 5424 record, a logs row) into the
// engine's event shape: every field a string, ports and the secret folded into `fields`.

import type { TtpEvent } from './types.ts';

export interface EventRecordLike {
  ts: string | number;
  decky: string;
  service: string;
  event: string;
  /** The attacker: `attacker_ip` or, in raw records, `src_ip`. */
  attacker_ip?: string;
  src_ip?: string;
  src_port?: number | string;
  dst_ip?: string;
  dst_port?: number | string;
  fields?: Readonly<Record<string, string | number | boolean | null | undefined>>;
  secret?: Buffer | string;
}

export function toTtpEvent(rec: EventRecordLike): TtpEvent {
  const fields: Record<string, string> = {};
  if (rec.fields) {
    for (const [k, v] of Object.entries(rec.fields)) if (v !== undefined && v !== null) fields[k] = String(v);
  }
  if (rec.src_port !== undefined && fields.src_port === undefined) fields.src_port = String(rec.src_port);
  if (rec.dst_ip !== undefined && fields.dst_ip === undefined) fields.dst_ip = rec.dst_ip;
  if (rec.dst_port !== undefined && fields.dst_port === undefined) fields.dst_port = String(rec.dst_port);
  if (rec.secret !== undefined && fields.secret_b64 === undefined) {
    fields.secret_b64 = Buffer.isBuffer(rec.secret) ? rec.secret.toString('base64') : Buffer.from(rec.secret, 'utf8').toString('base64');
  }
  const ev: TtpEvent = {
    ts: rec.ts,
    decky: rec.decky,
    service: rec.service,
    event: rec.event,
    attacker_ip: rec.attacker_ip ?? rec.src_ip ?? 'unknown',
    fields,
  };
  if (rec.event === 'command' && fields.command !== undefined) ev.command = fields.command;
  return ev;
}
