// What one event line becomes in the database: its `logs` row, the credential it carries (if any)
// and its fingerprint findings ("bounties"). Pure functions over a parsed EventRecord; the ingester
// writes the results in one transaction.
//
// Fingerprint findings are bounty rows of type `fingerprint` whose payload is
// `{fingerprint_type, value, ...}`:
//   hassh           value = HASSH of the SSH client's KEXINIT, algorithms, client_version
//   ja3 / ja4       value = the TLS ClientHello fingerprint, with the raw string, sni and alpn
//   client_version  value = the version string a client announced (SSH, VNC, MySQL, MSSQL …), service
//   http_useragent  value = the User-Agent, with category, tool and signals
import { hash } from 'node:crypto';
import { isIP } from 'node:net';
import type { EventRecord } from './rfc5424.ts';
import { classifyUserAgent, hasshTool, sshClientTool } from '../intel/tool-signatures.ts';

export interface LogRowInput {
  ts: string;
  decky: string | null;
  service: string | null;
  event_type: string;
  attacker_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  fields: Record<string, string>;
  msg: string | null;
  raw_line: string;
  dedupe_key?: string;
}

export interface CredentialFinding {
  attacker_ip: string;
  decky_name: string;
  service: string;
  principal: string | null;
  secret_kind: string;
  secret_b64: string;
  outcome: 'success' | 'failure' | 'observed';
  fields: Record<string, string | boolean>;
  seen_at: string;
}

export interface BountyFinding {
  ts: string;
  decky: string | null;
  service: string | null;
  attacker_ip: string | null;
  bounty_type: string;
  payload: Record<string, unknown>;
}

/** Largest secret stored whole: its base64 must fit the credentials table (2048 characters). */
export const MAX_STORED_SECRET_BYTES = 1536;
const MAX_FIELD_CHARS = 256;
const MAX_CREDENTIAL_FIELDS = 16;
const NAME_OK = /^[^\x00-\x1f\x7f]{1,128}$/;

/** The canonical form of an address, or null when the text is not one. */
export function validIp(text: string | undefined): string | null {
  if (!text) return null;
  const v = isIP(text);
  if (v === 0) return null;
  return v === 4 ? text : text.toLowerCase();
}

function nameOrNull(value: string): string | null {
  return NAME_OK.test(value) ? value : null;
}

/**
 * The logs row for a record. `identity` (optional) replaces the line as de-duplication key,
 * e.g. to keep two identical lines at different offsets apart.
 */
export function logRow(rec: EventRecord, identity?: string): LogRowInput {
  const row: LogRowInput = {
    ts: rec.ts,
    decky: nameOrNull(rec.decky),
    service: nameOrNull(rec.service),
    event_type: rec.event,
    attacker_ip: validIp(rec.src_ip),
    src_port: rec.src_port,
    dst_ip: validIp(rec.dst_ip),
    dst_port: rec.dst_port,
    fields: rec.fields,
    msg: rec.msg === '' ? null : rec.msg,
    raw_line: rec.raw,
  };
  if (identity !== undefined) row.dedupe_key = identity;
  return row;
}

/**
 * The identity of a line at a byte offset (the repository hashes it into the key). Ordinary lines
 * are used as they are; a long one is hashed first, the repository bounding identities to 512.
 */
export function positionIdentity(line: string, offset: number): string {
  return line.length <= 480 ? `${offset}\n${line}` : `${offset}:${hash('sha256', line, 'base64')}`;
}

const clip = (s: string, n = MAX_FIELD_CHARS) => (s.length > n ? s.slice(0, n) : s);
const PRINCIPAL_FIELDS = ['username', 'principal', 'user', 'login'] as const;
const NOT_COPIED = new Set<string>([...PRINCIPAL_FIELDS, 'secret_kind', 'success', 'truncated']);

/** The credential an event carries: any event with a captured secret and an attacker address. */
export function credentialOf(rec: EventRecord): CredentialFinding | null {
  if (!rec.secret) return null;
  const attacker = validIp(rec.src_ip);
  const decky = nameOrNull(rec.decky);
  const service = nameOrNull(rec.service);
  if (!attacker || !decky || !service) return null;
  let secret = rec.secret;
  const fields: Record<string, string | boolean> = {};
  if (secret.length > MAX_STORED_SECRET_BYTES) {
    secret = secret.subarray(0, MAX_STORED_SECRET_BYTES);
    fields.secret_truncated = true;
  }
  if (rec.fields.truncated?.split(',').includes('secret_b64')) fields.secret_truncated = true;
  let principal: string | null = null;
  for (const k of PRINCIPAL_FIELDS) {
    const v = rec.fields[k];
    if (v !== undefined && v !== '') {
      principal = clip(v, 512);
      break;
    }
  }
  let copied = 0;
  for (const [k, v] of Object.entries(rec.fields)) {
    if (NOT_COPIED.has(k) || copied >= MAX_CREDENTIAL_FIELDS) continue;
    fields[k] = clip(v);
    copied++;
  }
  fields.event = rec.event;
  const kind = rec.fields.secret_kind && /^[a-z0-9_]{1,64}$/.test(rec.fields.secret_kind) ? rec.fields.secret_kind : 'plaintext';
  const success = rec.fields.success;
  return {
    attacker_ip: attacker,
    decky_name: decky,
    service,
    principal,
    secret_kind: kind,
    secret_b64: secret.toString('base64'),
    outcome: success === 'true' ? 'success' : success === 'false' ? 'failure' : 'observed',
    fields,
    seen_at: rec.ts,
  };
}

const HEX32 = /^[0-9a-f]{32}$/i;

/** Fingerprint findings of an event (HASSH, JA3/JA4, client versions, user agents). */
export function bountiesOf(rec: EventRecord): BountyFinding[] {
  const f = rec.fields;
  const out: BountyFinding[] = [];
  const base = { ts: rec.ts, decky: nameOrNull(rec.decky), service: nameOrNull(rec.service), attacker_ip: validIp(rec.src_ip), bounty_type: 'fingerprint' };
  const add = (payload: Record<string, unknown>) => out.push({ ...base, payload });
  if (f.hassh && HEX32.test(f.hassh)) {
    add({ fingerprint_type: 'hassh', value: f.hassh.toLowerCase(), algorithms: f.hassh_algorithms ? clip(f.hassh_algorithms, 4096) : null, client_version: f.client_version ? clip(f.client_version) : null, tool: hasshTool(f.hassh) });
  }
  if (f.ja3 && HEX32.test(f.ja3)) {
    add({ fingerprint_type: 'ja3', value: f.ja3.toLowerCase(), raw: f.ja3_str ? clip(f.ja3_str, 4096) : null, sni: f.sni ? clip(f.sni) : null, alpn: f.alpn ? clip(f.alpn) : null, dst_port: rec.dst_port });
  }
  if (f.ja4 && /^[a-z0-9_]{10,64}$/i.test(f.ja4)) {
    add({ fingerprint_type: 'ja4', value: f.ja4, raw: f.ja4_r ? clip(f.ja4_r, 4096) : null, sni: f.sni ? clip(f.sni) : null, dst_port: rec.dst_port });
  }
  if (f.client_version && f.client_version.trim() !== '') {
    const v = clip(f.client_version);
    add({ fingerprint_type: 'client_version', value: v, service: base.service, tool: base.service === 'ssh' || v.startsWith('SSH-') ? sshClientTool(v) : null });
  }
  if (f.user_agent !== undefined) {
    const ua = clip(f.user_agent, 512);
    const verdict = classifyUserAgent(f.user_agent);
    add({ fingerprint_type: 'http_useragent', value: ua, category: verdict.category, tool: verdict.tool, signals: verdict.signals });
  }
  return out;
}

/** True when an event may have produced findings or a credential (the profiler then recounts them). */
export function mayHaveFindings(fields: Readonly<Record<string, unknown>>, rawLine: string): boolean {
  return 'hassh' in fields || 'ja3' in fields || 'ja4' in fields || 'client_version' in fields || 'user_agent' in fields || rawLine.includes(' secret_b64="');
}
