// Syslog receivers for the collector: UDP (one message per datagram) and TCP with both framings of
// RFC 6587 (octet counting "LEN SP MSG", or one message per line). Every buffer is bounded: a
// frame longer than `maxMessageBytes` closes that connection; connections are capped and time out
// when idle. Senders are not trusted: what they send is only ever parsed, never executed.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';

export interface ListenAddress {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
}

export interface ReceiverOptions {
  maxMessageBytes?: number;
  maxConnections?: number;
  idleTimeoutMs?: number;
}

export type OnMessage = (message: string, peer: string) => void;

/** Parses `udp://HOST:PORT`, `tcp://HOST:PORT` or `HOST:PORT` (both transports). */
export function parseListen(spec: string): ListenAddress[] {
  const m = /^(?:(udp|tcp):\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/\s]+):(\d{1,5})$/.exec(spec.trim());
  if (!m) throw new Error(`listen address ${JSON.stringify(spec)} must look like udp://127.0.0.1:5514, tcp://127.0.0.1:5514 or 127.0.0.1:5514`);
  const host = m[2].replace(/^\[|\]$/g, '');
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`listen address ${JSON.stringify(spec)}: port ${port} is out of range`);
  if (!isIP(host) && host !== 'localhost') throw new Error(`listen address ${JSON.stringify(spec)}: ${JSON.stringify(host)} is not an IP address`);
  const transports = m[1] ? [m[1] as 'udp' | 'tcp'] : (['udp', 'tcp'] as const);
  return transports.map((transport) => ({ transport, host, port }));
}

export function formatListen(a: ListenAddress): string {
  return `${a.transport}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

export interface Receiver {
  readonly address: ListenAddress;
  /** The bound port (useful when 0 was asked for). */
  readonly port: number;
  close(): Promise<void>;
}

export interface ReceiverCounters {
  messages: number;
  oversize: number;
  badFrames: number;
  refusedConnections: number;
}

export async function startUdpReceiver(address: ListenAddress, onMessage: OnMessage, counters: ReceiverCounters, opts: ReceiverOptions = {}): Promise<Receiver> {
  const max = opts.maxMessageBytes ?? 65_536;
  const socket: UdpSocket = createSocket({ type: isIP(address.host) === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(address.port, address.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => undefined);
  socket.on('message', (msg, rinfo) => {
    if (msg.length > max) {
      counters.oversize++;
      return;
    }
    counters.messages++;
    // A datagram may carry a trailing newline (or several lines from naive senders).
    for (const part of msg.toString('utf8').split('\n')) if (part.trim() !== '') onMessage(part, rinfo.address);
  });
  return {
    address,
    port: socket.address().port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

export async function startTcpReceiver(address: ListenAddress, onMessage: OnMessage, counters: ReceiverCounters, opts: ReceiverOptions = {}): Promise<Receiver> {
  const max = opts.maxMessageBytes ?? 65_536;
  const maxConnections = opts.maxConnections ?? 64;
  const idleMs = opts.idleTimeoutMs ?? 300_000;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    if (sockets.size >= maxConnections) {
      counters.refusedConnections++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    const peer = socket.remoteAddress ?? '';
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf.length === 0) return;
        if (buf[0] >= 0x30 && buf[0] <= 0x39) {
          // octet counting: LEN SP MSG
          const sp = buf.indexOf(0x20);
          if (sp < 0) {
            if (buf.length > 10) return bad(socket);
            return;
          }
          const lenText = buf.toString('latin1', 0, sp);
          if (!/^[1-9]\d{0,9}$/.test(lenText)) return bad(socket);
          const len = Number(lenText);
          if (len > max) {
            counters.oversize++;
            return bad(socket);
          }
          if (buf.length < sp + 1 + len) return;
          const msg = buf.toString('utf8', sp + 1, sp + 1 + len);
          buf = buf.subarray(sp + 1 + len);
          counters.messages++;
          onMessage(msg, peer);
        } else {
          const nl = buf.indexOf(0x0a);
          if (nl < 0) {
            if (buf.length > max) {
              counters.oversize++;
              return bad(socket);
            }
            return;
          }
          const msg = buf.toString('utf8', 0, nl);
          buf = buf.subarray(nl + 1);
          if (msg.trim() !== '') {
            counters.messages++;
            onMessage(msg, peer);
          }
        }
      }
    });
  });
  const bad = (socket: Socket): void => {
    counters.badFrames++;
    socket.destroy();
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const bound = server.address();
  return {
    address,
    port: typeof bound === 'object' && bound ? bound.port : address.port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
