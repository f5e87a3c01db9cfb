// The decoy host (DESIGN §5): runs many deckies in one process. It owns every listening socket,
// admits or refuses connections (global, per decky and per source caps), enforces byte caps and
// idle timeouts, records connect/disconnect, and hands each admitted connection or datagram to
// the decoy service. A service module is imported only when some decky of the plan uses it.
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { join } from 'node:path';
import { createLogger, type Logger } from '../core/log.ts';
import { dataDir as defaultDataDir } from '../core/paths.ts';
import { decoyEventLogPath } from '../pipeline/event-paths.ts';
import { errorMessage } from '../core/errors.ts';
import { formatEvent } from '../pipeline/rfc5424.ts';
import { findService } from './catalog.ts';
import { EventLog, type EventLogStats } from '../pipeline/event-log.ts';
import { resolveLimits, type Limits } from './limits.ts';
import { deckyFingerprint, type DeckyPlan } from './plan.ts';
import { Quarantine, type QuarantineStats } from './quarantine.ts';
import type { DecoyService, DeckyInfo, EventFields, Listen, Peer, RecordOptions, ServiceContext, ServiceHandler, Session } from './service.ts';

export interface HostOptions {
  /** Root for events/ and quarantine/ (default DECNET_DATA_DIR). */
  dataDir?: string;
  /** Event log path (default DECNET_EVENT_LOG, else <dataDir>/events/decoy.log). */
  eventLogPath?: string;
  limits?: Partial<Limits>;
  log?: Logger;
  /** Resolves a service module by name (default: the catalog). Tests may inject fixtures. */
  loadService?: (name: string) => Promise<DecoyService>;
}

export type ListenerStatus = 'starting' | 'listening' | 'failed' | 'closed';

export interface ListenerState {
  service: string;
  transport: 'tcp' | 'udp';
  /** Port asked for by the plan or the service default (0 = any). */
  requestedPort: number;
  /** Bound port (0 until listening). */
  port: number;
  status: ListenerStatus;
  error?: string;
  hint?: string;
}

export interface DeckyState {
  name: string;
  ip: string;
  persona: DeckyInfo['persona'];
  services: string[];
  listeners: ListenerState[];
  connections: number;
}

export interface ServiceCounters {
  connections: number;
  active: number;
  rejected: number;
  datagrams: number;
  events: number;
  errors: number;
}

export interface HostStats {
  deckies: number;
  services: number;
  listeners: number;
  failedListeners: number;
  connections: { active: number; total: number; rejected: number };
  perService: Record<string, ServiceCounters>;
  drops: {
    connGlobal: number;
    connDecky: number;
    connSource: number;
    byteCap: number;
    idle: number;
    maxDuration: number;
    udpSize: number;
    udpRate: number;
    udpReply: number;
    invalidEvents: number;
    events: number;
  };
  events: EventLogStats;
  quarantine: QuarantineStats;
}

export interface ApplyResult {
  added: string[];
  removed: string[];
  restarted: string[];
}

export interface DecoyHost {
  readonly eventLogPath: string;
  readonly limits: Readonly<Limits>;
  /** Brings the running deckies in line with `plan`: starts new ones, stops removed ones, restarts changed ones. */
  apply(plan: readonly DeckyPlan[]): Promise<ApplyResult>;
  deckies(): DeckyState[];
  stats(): HostStats;
  /** Resolves once every event recorded so far is on disk. */
  flush(): Promise<void>;
  /** Reopens the event log if it was rotated away (rename or delete); true if it did. */
  reopenLogIfRotated(): Promise<boolean>;
  /** Closes listeners, destroys connections (recording their disconnect), flushes and closes the log. */
  stop(): Promise<void>;
}

type CloseReason = 'closed' | 'idle' | 'byte_cap' | 'max_duration' | 'shutdown' | 'service_error';

interface Conn {
  socket: Socket;
  decky: DeckyRuntime;
  service: string;
  peer: Peer;
  started: number;
  lastActivity: number;
  lastIn: number;
  lastOut: number;
  reason?: CloseReason;
}

interface ServiceRuntime {
  name: string;
  handler?: ServiceHandler;
  listeners: ListenerState[];
  servers: (Server | UdpSocket)[];
}

interface DeckyRuntime {
  plan: DeckyPlan;
  fingerprint: string;
  info: DeckyInfo;
  abort: AbortController;
  services: ServiceRuntime[];
  conns: Set<Conn>;
  perSource: Map<string, number>;
  udpBuckets: Map<string, { tokens: number; last: number }>;
  tls?: Promise<{ key: string; cert: string }>;
  stopping: boolean;
}

const MAX_TRACKED_SOURCES = 4096;
const REJECT_EVENT_INTERVAL_MS = 10_000;

function normaliseIp(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function bindHint(code: string | undefined, ip: string, port: number, transport: string): string | undefined {
  switch (code) {
    case 'EADDRINUSE':
      return `${transport} ${ip}:${port} is already in use (another program or decky listens there): stop it, or give the service another port in the plan`;
    case 'EACCES':
      return `ports below 1024 need root or CAP_NET_BIND_SERVICE: run as root, or \`setcap cap_net_bind_service=+ep <path of node>\`, or give the service a port >= 1024 in the plan`;
    case 'EADDRNOTAVAIL':
      return `${ip} is not an address of this machine: use a loopback address (127.x.y.z) or add it (ip addr add ${ip}/32 dev <interface>)`;
    default:
      return undefined;
  }
}

function emptyCounters(): ServiceCounters {
  return { connections: 0, active: 0, rejected: 0, datagrams: 0, events: 0, errors: 0 };
}

class Host implements DecoyHost {
  readonly eventLogPath: string;
  readonly limits: Readonly<Limits>;
  private readonly log: Logger;
  private readonly events: EventLog;
  private readonly quarantine: Quarantine;
  /** Durable per-(decky, service) state such as SSH host keys: <dataDir>/state/<decky>/<service>. */
  private readonly stateRoot: string;
  private readonly loadService: (name: string) => Promise<DecoyService>;
  private readonly modules = new Map<string, Promise<DecoyService>>();
  private readonly running = new Map<string, DeckyRuntime>();
  private readonly conns = new Set<Conn>();
  private readonly counters = new Map<string, ServiceCounters>();
  private readonly rejectEvents = new Map<string, number>();
  private readonly errorLogs = new Map<string, number>();
  private readonly sweepTimer: NodeJS.Timeout;
  private applying: Promise<unknown> = Promise.resolve();
  private totalConnections = 0;
  private stopped = false;
  private readonly drops: HostStats['drops'] = {
    connGlobal: 0,
    connDecky: 0,
    connSource: 0,
    byteCap: 0,
    idle: 0,
    maxDuration: 0,
    udpSize: 0,
    udpRate: 0,
    udpReply: 0,
    invalidEvents: 0,
    events: 0,
  };

  constructor(opts: HostOptions, limits: Limits, events: EventLog, quarantine: Quarantine, log: Logger) {
    this.limits = limits;
    this.log = log;
    this.events = events;
    this.eventLogPath = events.path;
    this.quarantine = quarantine;
    this.stateRoot = join(opts.dataDir ?? defaultDataDir(), 'state');
    this.loadService =
      opts.loadService ??
      ((name) => {
        const entry = findService(name);
        if (!entry) return Promise.reject(new Error(`unknown service ${JSON.stringify(name)}`));
        return entry.load();
      });
    // One sweep enforces idle timeouts, byte caps and maximum durations for every connection
    // without adding listeners to the sockets (which would change their flowing mode).
    const every = Math.min(250, Math.max(25, Math.floor(limits.idleTimeoutMs / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  // ------------------------------------------------------------------ plan changes

  apply(plan: readonly DeckyPlan[]): Promise<ApplyResult> {
    const next = this.applying.then(() => this.applyNow(plan));
    this.applying = next.catch(() => undefined);
    return next;
  }

  private async applyNow(plan: readonly DeckyPlan[]): Promise<ApplyResult> {
    if (this.stopped) throw new Error('the decoy host is stopped');
    const result: ApplyResult = { added: [], removed: [], restarted: [] };
    const wanted = new Map(plan.map((d) => [d.name, d]));
    for (const [name, rt] of this.running) {
      const want = wanted.get(name);
      if (!want) {
        await this.stopDecky(rt);
        result.removed.push(name);
      } else if (deckyFingerprint(want) !== rt.fingerprint) {
        await this.stopDecky(rt);
        result.restarted.push(name);
      }
    }
    for (const d of plan) {
      if (this.running.has(d.name)) continue;
      await this.startDecky(d);
      if (!result.restarted.includes(d.name)) result.added.push(d.name);
    }
    return result;
  }

  private module(name: string): Promise<DecoyService> {
    let m = this.modules.get(name);
    if (!m) {
      m = this.loadService(name);
      this.modules.set(name, m);
      m.catch(() => this.modules.delete(name));
    }
    return m;
  }

  private async startDecky(plan: DeckyPlan): Promise<void> {
    const rt: DeckyRuntime = {
      plan,
      fingerprint: deckyFingerprint(plan),
      info: Object.freeze({ name: plan.name, ip: plan.ip, persona: Object.freeze({ ...plan.persona }) }),
      abort: new AbortController(),
      services: [],
      conns: new Set(),
      perSource: new Map(),
      udpBuckets: new Map(),
      stopping: false,
    };
    this.running.set(plan.name, rt);
    await Promise.all(plan.services.map((s) => this.startService(rt, s.name, s.ports, s.config ?? {})));
    const listening = rt.services.flatMap((s) => s.listeners).filter((l) => l.status === 'listening');
    this.log.info('decky up', { decky: plan.name, ip: plan.ip, listeners: listening.map((l) => `${l.service}:${l.port}/${l.transport}`).join(',') });
  }

  private async startService(rt: DeckyRuntime, name: string, ports: number[] | undefined, rawConfig: Record<string, string>): Promise<void> {
    const svc: ServiceRuntime = { name, listeners: [], servers: [] };
    rt.services.push(svc);
    if (!this.counters.has(name)) this.counters.set(name, emptyCounters());
    let mod: DecoyService;
    try {
      mod = await this.module(name);
    } catch (err) {
      svc.listeners.push({ service: name, transport: 'tcp', requestedPort: ports?.[0] ?? 0, port: 0, status: 'failed', error: `cannot load service: ${errorMessage(err)}` });
      this.log.error('cannot load decoy service', { decky: rt.plan.name, service: name, err: errorMessage(err) });
      return;
    }
    if (ports && ports.length > mod.listens.length) {
      this.log.warn('plan gives more ports than the service listens on; extra ports ignored', { decky: rt.plan.name, service: name, ports: ports.join(','), listens: mod.listens.length });
    }
    const offset = rt.plan.lowPortOffset ?? 0;
    const listens: Listen[] = mod.listens.map((l, i) => ({ ...l, port: ports?.[i] ?? (l.port > 0 && l.port < 1024 ? l.port + offset : l.port) }));
    const config = this.serviceConfig(rt, mod, rawConfig);
    const ctx = this.context(rt, name, listens, config);
    for (const l of listens) svc.listeners.push({ service: name, transport: l.transport, requestedPort: l.port, port: 0, status: 'starting' });
    try {
      svc.handler = await mod.create(ctx);
    } catch (err) {
      for (const l of svc.listeners) Object.assign(l, { status: 'failed', error: `service failed to start: ${errorMessage(err)}` });
      this.log.error('decoy service failed to start', { decky: rt.plan.name, service: name, err });
      return;
    }
    await Promise.all(listens.map((l, i) => this.bind(rt, svc, l, svc.listeners[i])));
  }

  /** Persona keys: defaults, then the plan; unknown keys and values outside `choices` are dropped with a warning. */
  private serviceConfig(rt: DeckyRuntime, mod: DecoyService, raw: Record<string, string>): Readonly<Record<string, string>> {
    const config: Record<string, string> = {};
    for (const [k, spec] of Object.entries(mod.personaKeys)) config[k] = spec.default;
    for (const [k, v] of Object.entries(raw)) {
      const spec = mod.personaKeys[k];
      if (!spec) {
        this.log.warn('unknown persona key ignored', { decky: rt.plan.name, service: mod.name, key: k, known: Object.keys(mod.personaKeys).join(',') });
      } else if (spec.choices && !spec.choices.includes(v)) {
        this.log.warn('persona value not allowed; default used', { decky: rt.plan.name, service: mod.name, key: k, value: v, choices: spec.choices.join(',') });
      } else {
        config[k] = v;
      }
    }
    return Object.freeze(config);
  }

  private context(rt: DeckyRuntime, service: string, listens: Listen[], config: Readonly<Record<string, string>>): ServiceContext {
    const log = this.log.child(`${rt.plan.name}/${service}`);
    return {
      decky: rt.info,
      service,
      listens,
      config,
      log,
      signal: rt.abort.signal,
      record: (event, peer, fields, opts) => this.record(rt, service, event, peer, fields, opts),
      quarantine: (kind, suggestedName, data, maxBytes) => this.quarantine.store(rt.plan.name, service, kind, suggestedName, data, maxBytes),
      tlsCredentials: () => this.tlsCredentials(rt),
      stateDir: join(this.stateRoot, rt.plan.name.replace(/[^A-Za-z0-9._-]/g, '_'), service),
    };
  }

  private tlsCredentials(rt: DeckyRuntime): Promise<{ key: string; cert: string }> {
    rt.tls ??= import('./tls-cert.ts').then((m) => {
      const hostname = rt.info.persona.hostname;
      return m.createSelfSignedCertificate({ commonName: hostname.slice(0, 64), altNames: [hostname, rt.info.ip] });
    });
    return rt.tls;
  }

  // ------------------------------------------------------------------ listeners

  private bind(rt: DeckyRuntime, svc: ServiceRuntime, listen: Listen, state: ListenerState): Promise<void> {
    const handler = svc.handler!;
    if (listen.transport === 'tcp' && !handler.onConnection) return this.failListener(rt, state, listen, 'the service has no TCP handler');
    if (listen.transport === 'udp' && !handler.onDatagram) return this.failListener(rt, state, listen, 'the service has no UDP handler');
    return new Promise((resolve) => {
      const onError = (err: NodeJS.ErrnoException) => {
        state.status = 'failed';
        state.error = `${err.code ?? 'error'}: ${err.message}`;
        state.hint = bindHint(err.code, rt.plan.ip, listen.port, listen.transport);
        this.log.error(`cannot listen on ${listen.transport} ${rt.plan.ip}:${listen.port}`, { decky: rt.plan.name, service: svc.name, code: err.code, hint: state.hint });
        resolve();
      };
      if (listen.transport === 'tcp') {
        const server = createServer({ noDelay: true }, (socket) => this.onConnection(rt, svc, listen, socket));
        server.once('error', onError);
        server.listen({ host: rt.plan.ip, port: listen.port, exclusive: true, backlog: 511 }, () => {
          server.removeListener('error', onError);
          server.on('error', (err) => this.log.error('listener error', { decky: rt.plan.name, service: svc.name, err }));
          listen.port = (server.address() as { port: number }).port;
          Object.assign(state, { port: listen.port, status: 'listening' });
          svc.servers.push(server);
          resolve();
        });
      } else {
        const sock = createSocket({ type: isIPv6(rt.plan.ip) ? 'udp6' : 'udp4' });
        sock.once('error', onError);
        sock.on('message', (msg, rinfo) => this.onDatagram(rt, svc, listen, sock, msg, rinfo.address, rinfo.port));
        sock.bind({ address: rt.plan.ip, port: listen.port, exclusive: true }, () => {
          sock.removeListener('error', onError);
          sock.on('error', (err) => this.log.warn('udp socket error', { decky: rt.plan.name, service: svc.name, err }));
          listen.port = sock.address().port;
          Object.assign(state, { port: listen.port, status: 'listening' });
          svc.servers.push(sock);
          resolve();
        });
      }
    });
  }

  private failListener(rt: DeckyRuntime, state: ListenerState, listen: Listen, why: string): Promise<void> {
    Object.assign(state, { status: 'failed', error: why });
    this.log.error(`cannot serve ${listen.transport} port ${listen.port}: ${why}`, { decky: rt.plan.name, service: state.service });
    return Promise.resolve();
  }

  private onConnection(rt: DeckyRuntime, svc: ServiceRuntime, listen: Listen, socket: Socket): void {
    const counters = this.counters.get(svc.name)!;
    const srcIp = normaliseIp(socket.remoteAddress);
    if (!srcIp || rt.stopping || this.stopped) {
      socket.destroy();
      return;
    }
    const peer: Peer = { srcIp, srcPort: socket.remotePort ?? 0, dstIp: rt.plan.ip, dstPort: listen.port };
    let refused: 'global' | 'decky' | 'source' | undefined;
    if (this.conns.size >= this.limits.maxConnections) refused = 'global';
    else if (rt.conns.size >= this.limits.maxConnectionsPerDecky) refused = 'decky';
    else if ((rt.perSource.get(srcIp) ?? 0) >= this.limits.maxConnectionsPerSource) refused = 'source';
    if (refused) {
      counters.rejected++;
      if (refused === 'global') this.drops.connGlobal++;
      else if (refused === 'decky') this.drops.connDecky++;
      else this.drops.connSource++;
      socket.on('error', () => undefined);
      socket.destroy();
      this.recordReject(rt, svc.name, peer, refused);
      return;
    }

    const now = Date.now();
    const conn: Conn = { socket, decky: rt, service: svc.name, peer, started: now, lastActivity: now, lastIn: 0, lastOut: 0 };
    this.conns.add(conn);
    rt.conns.add(conn);
    if (rt.perSource.size < MAX_TRACKED_SOURCES || rt.perSource.has(srcIp)) rt.perSource.set(srcIp, (rt.perSource.get(srcIp) ?? 0) + 1);
    this.totalConnections++;
    counters.connections++;
    counters.active++;

    // A throw from any of the service's socket listeners (a parser bug hit by attacker bytes)
    // ends this connection only, instead of becoming an uncaught exception of the whole host.
    const host = this;
    const emit = socket.emit as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = function guardedEmit(this: Socket, event: string | symbol, ...args: unknown[]): boolean {
      try {
        return emit.apply(this, [event, ...args]);
      } catch (err) {
        host.serviceError(conn, err);
        return false;
      }
    } as Socket['emit'];
    socket.on('error', () => undefined); // resets by scanners are normal; the disconnect event tells
    socket.once('close', () => this.onClose(conn));

    this.record(rt, svc.name, 'connect', peer);
    const session: Session = {
      peer,
      record: (event, fields, opts) => this.record(rt, svc.name, event, peer, fields, opts),
    };
    try {
      svc.handler!.onConnection!(socket, session, listen);
    } catch (err) {
      this.serviceError(conn, err);
    }
  }

  private serviceError(conn: Conn, err: unknown): void {
    const counters = this.counters.get(conn.service);
    if (counters) counters.errors++;
    this.logRateLimited(`svcerr:${conn.service}`, 'decoy service threw on attacker input; connection closed', { decky: conn.decky.plan.name, service: conn.service, src_ip: conn.peer.srcIp, err });
    conn.reason ??= 'service_error';
    conn.socket.destroy();
  }

  private onClose(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    const rt = conn.decky;
    rt.conns.delete(conn);
    const n = (rt.perSource.get(conn.peer.srcIp) ?? 1) - 1;
    if (n <= 0) rt.perSource.delete(conn.peer.srcIp);
    else rt.perSource.set(conn.peer.srcIp, n);
    const counters = this.counters.get(conn.service);
    if (counters) counters.active--;
    this.record(rt, conn.service, 'disconnect', conn.peer, {
      duration_ms: Date.now() - conn.started,
      bytes_in: conn.socket.bytesRead,
      bytes_out: conn.socket.bytesWritten,
      reason: conn.reason ?? 'closed',
    });
  }

  private sweep(): void {
    if (this.conns.size === 0) return;
    const now = Date.now();
    const { maxBytesPerConnection, idleTimeoutMs, maxConnectionMs } = this.limits;
    for (const conn of this.conns) {
      const s = conn.socket;
      const bytesIn = s.bytesRead;
      const bytesOut = s.bytesWritten;
      if (bytesIn !== conn.lastIn || bytesOut !== conn.lastOut) {
        conn.lastIn = bytesIn;
        conn.lastOut = bytesOut;
        conn.lastActivity = now;
      }
      let reason: CloseReason | undefined;
      if (bytesIn > maxBytesPerConnection) {
        reason = 'byte_cap';
        this.drops.byteCap++;
      } else if (now - conn.lastActivity >= idleTimeoutMs) {
        reason = 'idle';
        this.drops.idle++;
      } else if (now - conn.started >= maxConnectionMs) {
        reason = 'max_duration';
        this.drops.maxDuration++;
      }
      if (reason) {
        conn.reason ??= reason;
        s.destroy();
      }
    }
  }

  private onDatagram(rt: DeckyRuntime, svc: ServiceRuntime, listen: Listen, sock: UdpSocket, msg: Buffer, address: string, port: number): void {
    if (rt.stopping) return;
    const counters = this.counters.get(svc.name)!;
    if (msg.length > this.limits.maxDatagramBytes) {
      this.drops.udpSize++;
      return;
    }
    const srcIp = normaliseIp(address) ?? address;
    if (!this.takeUdpToken(rt, srcIp)) {
      this.drops.udpRate++;
      return;
    }
    counters.datagrams++;
    const peer: Peer = { srcIp, srcPort: port, dstIp: rt.plan.ip, dstPort: listen.port };
    // Replies are bounded per request so a spoofed source cannot use the decky as an amplifier.
    let budget = Math.max(this.limits.udpReplyBytes, msg.length * 4);
    const reply = (data: Buffer): void => {
      if (data.length > budget || rt.stopping) {
        this.drops.udpReply++;
        return;
      }
      budget -= data.length;
      sock.send(data, port, address, () => undefined);
    };
    try {
      svc.handler!.onDatagram!(msg, peer, reply, listen);
    } catch (err) {
      counters.errors++;
      this.logRateLimited(`svcerr:${svc.name}`, 'decoy service threw on a datagram', { decky: rt.plan.name, service: svc.name, src_ip: srcIp, err });
    }
  }

  private takeUdpToken(rt: DeckyRuntime, srcIp: string): boolean {
    const now = Date.now();
    const { udpRatePerSource: rate, udpBurstPerSource: burst } = this.limits;
    let b = rt.udpBuckets.get(srcIp);
    if (!b) {
      if (rt.udpBuckets.size >= MAX_TRACKED_SOURCES) {
        const oldest = rt.udpBuckets.keys().next().value;
        if (oldest !== undefined) rt.udpBuckets.delete(oldest);
      }
      b = { tokens: burst, last: now };
      rt.udpBuckets.set(srcIp, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.last) / 1000) * rate);
      b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  // ------------------------------------------------------------------ events

  private record(rt: DeckyRuntime, service: string, event: string, peer: Peer, fields?: EventFields, opts?: RecordOptions): void {
    let line: string;
    try {
      line = formatEvent({
        decky: rt.plan.name,
        service,
        event,
        src_ip: peer.srcIp,
        src_port: peer.srcPort,
        dst_ip: peer.dstIp,
        dst_port: peer.dstPort,
        fields,
        secret: opts?.secret,
        msg: opts?.msg,
        severity: opts?.severity,
      });
    } catch (err) {
      this.drops.invalidEvents++;
      this.logRateLimited(`badevent:${service}:${event}`, 'decoy service recorded an invalid event (fix the service)', { decky: rt.plan.name, service, event, err: errorMessage(err) });
      return;
    }
    const counters = this.counters.get(service);
    if (counters) counters.events++;
    if (!this.events.append(line)) this.drops.events++;
  }

  private recordReject(rt: DeckyRuntime, service: string, peer: Peer, reason: string): void {
    const key = `${rt.plan.name}|${peer.srcIp}`;
    const now = Date.now();
    const last = this.rejectEvents.get(key);
    if (last !== undefined && now - last < REJECT_EVENT_INTERVAL_MS) return;
    if (this.rejectEvents.size >= MAX_TRACKED_SOURCES) this.rejectEvents.clear();
    this.rejectEvents.set(key, now);
    this.record(rt, service, 'reject', peer, { reason });
  }

  private logRateLimited(key: string, msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    const last = this.errorLogs.get(key);
    if (last !== undefined && now - last < 10_000) return;
    if (this.errorLogs.size > 1024) this.errorLogs.clear();
    this.errorLogs.set(key, now);
    this.log.error(msg, fields);
  }

  // ------------------------------------------------------------------ stop

  private async stopDecky(rt: DeckyRuntime): Promise<void> {
    rt.stopping = true;
    rt.abort.abort();
    const closing: Promise<void>[] = [];
    for (const svc of rt.services) {
      for (const server of svc.servers) {
        closing.push(new Promise<void>((resolve) => (('listen' in server ? (server as Server).close(() => resolve()) : (server as UdpSocket).close(() => resolve())))));
      }
      for (const l of svc.listeners) if (l.status === 'listening') l.status = 'closed';
    }
    // Each destroyed socket records its disconnect on 'close', which comes a tick later: wait for
    // them (bounded) so those events reach the log before it closes.
    const disconnects: Promise<void>[] = [];
    for (const conn of rt.conns) {
      conn.reason ??= 'shutdown';
      disconnects.push(new Promise<void>((resolve) => conn.socket.once('close', () => resolve())));
      conn.socket.destroy();
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(disconnects), new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    await Promise.all(closing);
    await Promise.all(
      rt.services.map(async (svc) => {
        if (!svc.handler?.close) return;
        try {
          await Promise.race([svc.handler.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
        } catch (err) {
          this.log.warn('decoy service close failed', { decky: rt.plan.name, service: svc.name, err });
        }
      }),
    );
    this.running.delete(rt.plan.name);
    this.log.info('decky down', { decky: rt.plan.name });
  }

  deckies(): DeckyState[] {
    return [...this.running.values()].map((rt) => ({
      name: rt.plan.name,
      ip: rt.plan.ip,
      persona: rt.info.persona,
      services: rt.services.map((s) => s.name),
      listeners: rt.services.flatMap((s) => s.listeners.map((l) => ({ ...l }))),
      connections: rt.conns.size,
    }));
  }

  stats(): HostStats {
    const listeners = [...this.running.values()].flatMap((rt) => rt.services.flatMap((s) => s.listeners));
    const perService: Record<string, ServiceCounters> = {};
    for (const [k, v] of this.counters) perService[k] = { ...v };
    return {
      deckies: this.running.size,
      services: [...this.running.values()].reduce((n, rt) => n + rt.services.length, 0),
      listeners: listeners.filter((l) => l.status === 'listening').length,
      failedListeners: listeners.filter((l) => l.status === 'failed').length,
      connections: { active: this.conns.size, total: this.totalConnections, rejected: this.drops.connGlobal + this.drops.connDecky + this.drops.connSource },
      perService,
      drops: { ...this.drops },
      events: this.events.stats(),
      quarantine: this.quarantine.stats(),
    };
  }

  flush(): Promise<void> {
    return this.events.flush();
  }

  reopenLogIfRotated(): Promise<boolean> {
    return this.events.reopenIfRotated();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.applying;
    this.stopped = true;
    clearInterval(this.sweepTimer);
    await Promise.all([...this.running.values()].map((rt) => this.stopDecky(rt)));
    await this.events.close();
  }
}


/** Starts a decoy host running `plan`. Listeners that cannot bind are reported in deckies(), not thrown. */
export async function startDecoyHost(plan: readonly DeckyPlan[], opts: HostOptions = {}): Promise<DecoyHost> {
  const limits = resolveLimits(opts.limits);
  const log = opts.log ?? createLogger('deckies');
  const root = opts.dataDir ?? defaultDataDir();
  const events = new EventLog(opts.eventLogPath ?? decoyEventLogPath(root), { maxBufferBytes: limits.eventBufferBytes, log });
  await events.open();
  const quarantine = new Quarantine(join(root, 'quarantine'), { fileCap: limits.quarantineFileBytes, totalCap: limits.quarantineTotalBytes, log });
  const host = new Host(opts, limits, events, quarantine, log);
  try {
    await host.apply(plan);
  } catch (err) {
    await host.stop();
    throw err;
  }
  return host;
}
