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
}

export interface QuarantinedFile {
  path: string;
  sha256: string;
  size: number;
  truncated: boolean;
}

export interface ServiceContext {
  readonly decky: DeckyInfo;
  /** Service name, e.g. 'ssh'. */
  readonly service: string;
  readonly port: number;
  /** Per-service persona keys from the deploy plan (INI `[decky.service]` sections), already validated. */
  readonly config: Readonly<Record<string, string>>;
  readonly log: Logger;
  /** Appends one event line (never throws). */
  record(event: string, peer: Peer, fields?: EventFields, opts?: RecordOptions): void;
  /** Stores attacker-supplied content (uploads, mail) in the quarantine folder, capped at `maxBytes`. */
  quarantine(kind: string, suggestedName: string, data: Buffer, maxBytes?: number): Promise<QuarantinedFile>;
  /** Aborted when the decoy host stops. */
  readonly signal: AbortSignal;
}

/** Per-connection view handed to a TCP handler. */
export interface Session {
  readonly peer: Peer;
  /** Records an event for this connection (peer filled in). */
  record(event: string, fields?: EventFields, opts?: RecordOptions): void;
}

export interface TcpHandler {
  readonly kind: 'tcp';
  /** Called for each admitted connection. The host destroys the socket on idle timeout, byte cap or shutdown. */
  onConnection(socket: Socket, session: Session): void;
  close?(): Promise<void>;
}

export interface UdpHandler {
  readonly kind: 'udp';
  /** Called per datagram (already size-checked and rate-limited per source). `reply` sends one datagram back. */
  onMessage(msg: Buffer, peer: Peer, reply: (data: Buffer) => void): void;
  close?(): Promise<void>;
}

export interface PersonaKey {
  summary: string;
  default: string;
}

export interface DecoyService {
  readonly name: string;
  readonly transport: 'tcp' | 'udp';
  readonly defaultPort: number;
  /** Keys a deploy config may set for this service (banner, version …), with defaults. */
  readonly personaKeys: Readonly<Record<string, PersonaKey>>;
  /** Builds the handler for one decky; called once per (decky, service). */
  create(ctx: ServiceContext): Promise<TcpHandler | UdpHandler> | TcpHandler | UdpHandler;
}
