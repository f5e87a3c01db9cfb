// A small client for line-oriented protocols (FTP, SMTP, POP3, IMAP) used by the decoy tests: reads lines
// and exact byte counts with deadlines (no sleeps), and can upgrade its socket to TLS (STARTTLS).
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export class TextClient {
  socket: Socket | TLSSocket;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    const done = (): void => {
      this.closed = true;
      this.wake();
    };
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
  }

  static open(host: string, port: number, opts: { tls?: boolean; servername?: string; localAddress?: string } = {}): Promise<TextClient> {
    return new Promise((resolve, reject) => {
      const s = opts.tls
        ? tlsConnect({ host, port, rejectUnauthorized: false, ...(opts.servername ? { servername: opts.servername } : {}) }, () => resolve(new TextClient(s)))
        : connect({ host, port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }, () => resolve(new TextClient(s)));
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
      if (this.closed) throw new Error(`connection closed while waiting for ${what}; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** One line without its CRLF. */
  async line(timeoutMs = 5000): Promise<string> {
    await this.until(() => this.buf.includes(0x0a), 'a line', timeoutMs);
    const lf = this.buf.indexOf(0x0a);
    const line = this.buf.subarray(0, lf).toString('utf8').replace(/\r$/, '');
    this.buf = this.buf.subarray(lf + 1);
    return line;
  }

  /** Lines up to and including the first one matching `last`. */
  async linesUntil(last: RegExp, timeoutMs = 5000): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line(timeoutMs);
      out.push(l);
      if (last.test(l)) return out;
    }
  }

  async bytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    await this.until(() => this.buf.length >= n, `${n} bytes`, timeoutMs);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  /** Sends a command and returns the reply line(s) up to the one matching `last` (default: any line). */
  async cmd(text: string, last: RegExp = /.*/): Promise<string[]> {
    this.send(`${text}\r\n`);
    return this.linesUntil(last);
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.closed, 'the server to close', timeoutMs).catch((err: Error) => {
      if (!this.closed) throw err;
    });
  }

  /** Upgrades the connection to TLS in place (after STARTTLS / STLS). */
  async startTls(servername?: string): Promise<TLSSocket> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('close');
    const secure = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: raw as Socket, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return secure;
  }

  close(): void {
    this.socket.destroy();
  }
}
