// Raw-socket clients for the protocol decoy tests: a TCP reader that waits for exact byte counts
// (with a deadline, never a sleep) and a UDP exchange helper.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';

export class RawTcp {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    const done = (): void => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
  }

  static open(host: string, port: number): Promise<RawTcp> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port }, () => resolve(new RawTcp(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.ended && !cond()) throw new Error(`connection closed while waiting for ${what}; have ${this.buf.toString('hex')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; have ${this.buf.toString('hex')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Exactly `n` bytes. */
  async read(n: number, timeoutMs = 3000): Promise<Buffer> {
    await this.until(() => this.buf.length >= n, `${n} bytes`, timeoutMs);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Bytes up to and including `delim`. */
  async readUntil(delim: string | Buffer, timeoutMs = 3000): Promise<Buffer> {
    await this.until(() => this.buf.indexOf(delim) >= 0, `delimiter ${JSON.stringify(delim.toString())}`, timeoutMs);
    const end = this.buf.indexOf(delim) + Buffer.from(delim).length;
    const out = this.buf.subarray(0, end);
    this.buf = this.buf.subarray(end);
    return Buffer.from(out);
  }

  /** Resolves when the peer closes; returns whatever arrived before. */
  async closed(timeoutMs = 3000): Promise<Buffer> {
    await this.until(() => this.ended, 'close', timeoutMs);
    const out = this.buf;
    this.buf = Buffer.alloc(0);
    return out;
  }

  write(b: Buffer | string): void {
    this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends garbage and hangs up (half-close); resolves once the server has closed its side too. */
export async function sendGarbage(host: string, port: number, data: Buffer): Promise<void> {
  const c = await RawTcp.open(host, port);
  c.socket.end(data);
  await c.closed(3000);
  c.close();
}

export class RawUdp {
  readonly socket: UdpSocket;
  private queue: { msg: Buffer; port: number; address: string }[] = [];
  private waiters: (() => void)[] = [];

  private constructor(socket: UdpSocket) {
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      this.queue.push({ msg, port: rinfo.port, address: rinfo.address });
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    });
  }

  static async open(bindAddress = '127.0.0.1'): Promise<RawUdp> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(0, bindAddress, () => resolve());
    });
    s.unref(); // a failed assertion must not keep the test process alive
    return new RawUdp(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(msg: Buffer, port: number, host: string): void {
    this.socket.send(msg, port, host);
  }

  /** Next datagram (with its source), or an error after the deadline. */
  async receive(timeoutMs = 3000): Promise<{ msg: Buffer; port: number; address: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a datagram');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.queue.shift()!;
  }

  close(): void {
    this.socket.close();
  }
}
