// The contract between the decoy host and each decoy service (DESIGN §5). Types only.
// The host owns listening sockets, admission limits (per decky and per source IP), idle timeouts,
// byte caps and the connect/disconnect events; a service only speaks its protocol and records
// what the attacker did.
import type { Socket } from 'node:net';
import type { Logger } from '../core/log.ts';

export type OsFamily = 'linux' | 'windows' | 'bsd' | 'embedded' | 'macos';

export interface Persona {
  hostname: string;
  archetype: string;
  /** Distro slug (e.g. 'debian', 'ubuntu2204', 'rocky9'); for Windows personas a Windows build slug. */
  distro: string;
  osFamily: OsFamily;
}

export interface DeckyInfo {
  name: string;
  ip: string;
  persona: Persona;
}

/** Both ends of a connection or datagram exchange. */
export interface Peer {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
}

/** Event fields become RFC 5424 structured-data params. Keys: [a-z0-9_]{1,32}. Values are
 * stringified and escaped by the writer; attacker text can never break the line. */
export type EventFields = Record<string, string | number | boolean | undefined | null>;

export interface RecordOptions {
  /** A captured secret (password, hash, token): written base64 in `secret_b64`. */
  secret?: string | Buffer;
  /** Free text for the line's MSG part (escaped like the fields). */
  msg?: string;
  /** Syslog severity of the line; 'info' by default, 'warning' for notable events. */
  severity?: 'info' | 'notice' | 'warning';
}

export interface QuarantinedFile {
  /** Where the content is stored; '' when it was not stored (see `stored`). */
  path: string;
  /** Of the stored bytes (after truncation). */
  sha256: string;
  /** Stored bytes. */
  size: number;
  truncated: boolean;
  /** Bytes the service handed over, before truncation. */
  originalSize?: number;
  /** False when the host refused (quarantine size cap) or failed to write; the call never rejects. */
  stored?: boolean;
}

export interface ServiceContext {
  readonly decky: DeckyInfo;
  /** Service name, e.g. 'ssh'. */
  readonly service: string;
  /** The ports this service listens on for this decky (defaults or overridden by the plan). */
  readonly listens: readonly Listen[];
  /** Per-service persona keys from the deploy plan (INI `[decky.service]` sections), already validated. */
  readonly config: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Appends one event line (never throws). */
  record(event: string, peer: Peer, fields?: EventFields, opts?: RecordOptions): void;
  /** Stores attacker-supplied content (uploads, mail) in the quarantine folder, capped at `maxBytes`. */
  quarantine(kind: string, suggestedName: string, data: Buffer, maxBytes?: number): Promise<QuarantinedFile>;
  /** This decky's self-signed TLS certificate (CN = its hostname), created once and cached. */
  tlsCredentials(): Promise<{ key: string; cert: string }>;
  /** A directory this service may keep durable per-decky state in (e.g. SSH host keys):
   * <data dir>/state/<decky>/<service>. Created by the service when it first writes. */
  readonly stateDir: string;
  /** Aborted when the decoy host stops. */
  readonly signal: AbortSignal;
}

/** Per-connection view handed to a TCP handler. */
export interface Session {
  readonly peer: Peer;
  /** Records an event for this connection (peer filled in). */
  record(event: string, fields?: EventFields, opts?: RecordOptions): void;
}

export interface Listen {
  port: number;
  transport: 'tcp' | 'udp';
  /** Implicit TLS on this port (e.g. 443, 993): the service wraps the socket itself with ctx.tlsCredentials(). */
  tls?: boolean;
}

export interface ServiceHandler {
  /** TCP: called for each admitted connection. The host destroys the socket on idle timeout, byte cap or
   * shutdown, and records `connect`/`disconnect` itself. `listen` tells which port was hit. */
  onConnection?(socket: Socket, session: Session, listen: Listen): void;
  /** UDP: called per datagram (already size-checked and rate-limited per source). `reply` sends one datagram back. */
  onDatagram?(msg: Buffer, peer: Peer, reply: (data: Buffer) => void, listen: Listen): void;
  close?(): Promise<void>;
}

export interface PersonaKey {
  summary: string;
  default: string;
  /** Allowed values, when the key is an enumeration. */
  choices?: readonly string[];
}

export interface DecoyService {
  readonly name: string;
  readonly summary: string;
  /** Default listeners; a plan may override ports. */
  readonly listens: readonly Listen[];
  /** Keys a deploy config may set for this service (banner, version …), with defaults. */
  readonly personaKeys: Readonly<Record<string, PersonaKey>>;
  /** Builds the handler for one decky; called once per (decky, service). */
  create(ctx: ServiceContext): Promise<ServiceHandler> | ServiceHandler;
}
