// Server-side TLS for decoy services (https, imaps, pop3s, SMTP/IMAP/POP3 STARTTLS): peek the ClientHello
// on the raw socket, record its fingerprints, then hand the same bytes to node's TLS stack with the decky's
// self-signed certificate.
import type { Socket } from 'node:net';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import type { ServiceContext, Session } from './service.ts';
import { MAX_CLIENT_HELLO, ja3, ja4, offeredVersion, scanClientHello, versionName, type HelloScan } from './tls-fingerprint.ts';

export type PeekResult =
  | { kind: 'tls'; scan: Extract<HelloScan, { status: 'complete' | 'invalid' }>; data: Buffer }
  | { kind: 'plain'; data: Buffer }
  | { kind: 'closed'; data: Buffer }
  | { kind: 'timeout'; data: Buffer };

/**
 * Reads from `socket` until the first TLS ClientHello is complete (or the bytes are clearly not TLS), then
 * pushes everything read back into the socket (paused), so the next consumer sees the stream untouched.
 */
export function peekClientHello(socket: Socket, timeoutMs = 15_000): Promise<PeekResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: PeekResult, unshift: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (unshift && result.data.length > 0 && !socket.destroyed) socket.unshift(result.data);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const data = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const scan = scanClientHello(data);
      if (scan.status === 'not_tls') settle({ kind: 'plain', data }, true);
      else if (scan.status === 'complete' || scan.status === 'invalid') settle({ kind: 'tls', scan, data }, true);
      else if (size > MAX_CLIENT_HELLO + 4096) settle({ kind: 'tls', scan: { status: 'invalid', reason: 'ClientHello too large' }, data }, true);
    };
    const onEnd = (): void => settle({ kind: 'closed', data: Buffer.concat(chunks) }, false);
    const timer = setTimeout(() => settle({ kind: 'timeout', data: Buffer.concat(chunks) }, true), timeoutMs);
    timer.unref();
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}

/** The decky's certificate as a SecureContext, created on first use and shared by all connections. */
export function secureContextProvider(ctx: ServiceContext): () => Promise<SecureContext> {
  let pending: Promise<SecureContext> | null = null;
  return () =>
    (pending ??= ctx.tlsCredentials().then(
      ({ key, cert }) => createSecureContext({ key, cert }),
      (err: unknown) => {
        pending = null; // retry on the next connection
        throw err;
      },
    ));
}

/** Records the `tls_hello` event (JA3/JA4, offered version, SNI, ALPN) for a scanned ClientHello. */
export function recordHello(session: Session, scan: Extract<HelloScan, { status: 'complete' | 'invalid' }>, via: string, data: Buffer): void {
  if (scan.status === 'invalid') {
    session.record('tls_hello', { error: scan.reason, via, bytes: data.length, head_hex: data.subarray(0, 64).toString('hex') });
    return;
  }
  const h = scan.hello;
  const { ja3: ja3Str, ja3Hash } = ja3(h);
  const { ja4: ja4Hash, ja4r } = ja4(h);
  session.record('tls_hello', {
    ja3: ja3Hash,
    ja3_str: ja3Str.slice(0, 2048),
    ja4: ja4Hash,
    ja4_r: ja4r.slice(0, 2048),
    tls_version: versionName(offeredVersion(h)),
    sni: h.serverName !== undefined ? printableName(h.serverName) : undefined,
    alpn: h.alpn.length > 0 ? h.alpn.map(printableName).join(',').slice(0, 256) : undefined,
    cipher_count: h.ciphers.length,
    ext_count: h.extensions.length,
    via,
  });
}

function printableName(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).slice(0, 255);
}

export interface AcceptTlsOptions {
  session: Session;
  context: () => Promise<SecureContext>;
  /** ALPN protocols the server selects from (none: no ALPN extension in the reply). */
  alpn?: string[];
  /** How TLS was entered, for the record: 'implicit' (443, 993, 995) or 'starttls'. */
  via: 'implicit' | 'starttls';
  /** Called with the raw socket when the client speaks plaintext instead; default destroys it. */
  onPlain?(socket: Socket, data: Buffer): void;
  log?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

/**
 * Peeks and records the ClientHello, then completes a server handshake on `socket`. Resolves the secure
 * socket, or null when the client went away, spoke plaintext (after `onPlain`) or failed the handshake.
 */
export async function acceptTls(socket: Socket, opts: AcceptTlsOptions): Promise<TLSSocket | null> {
  const peek = await peekClientHello(socket);
  if (peek.kind === 'closed' || peek.kind === 'timeout') {
    if (peek.data.length > 0) opts.session.record('payload', { reason: 'incomplete TLS hello', bytes: peek.data.length, head_hex: peek.data.subarray(0, 64).toString('hex') });
    if (peek.kind === 'timeout') socket.destroy();
    return null;
  }
  if (peek.kind === 'plain') {
    if (opts.onPlain) opts.onPlain(socket, peek.data);
    else {
      opts.session.record('payload', { reason: 'plaintext on TLS port', bytes: peek.data.length, head_hex: peek.data.subarray(0, 64).toString('hex') });
      socket.destroy();
    }
    return null;
  }
  recordHello(opts.session, peek.scan, opts.via, peek.data);

  let secureContext: SecureContext;
  try {
    secureContext = await opts.context();
  } catch (err) {
    opts.log?.warn('no TLS certificate for this decky; closing the connection', { err });
    socket.destroy();
    return null;
  }
  if (socket.destroyed) return null;

  // Select ALPN only when the client offers one of ours; otherwise ignore the extension, as a server
  // without that protocol does (node would abort with no_application_protocol, which real servers don't).
  const offered = peek.scan.status === 'complete' ? peek.scan.hello.alpn : [];
  const alpn = opts.alpn?.filter((p) => offered.includes(p));
  const tlsSocket = new TLSSocket(socket, {
    isServer: true,
    secureContext,
    ...(alpn && alpn.length > 0 ? { ALPNProtocols: alpn } : {}),
  });
  return new Promise((resolve) => {
    const fail = (err?: Error): void => {
      tlsSocket.off('secure', ok);
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      if (err) opts.session.record('tls_error', { error: (code ?? err.message).slice(0, 128), via: opts.via });
      tlsSocket.destroy();
      socket.destroy();
      resolve(null);
    };
    const ok = (): void => {
      tlsSocket.off('error', fail);
      tlsSocket.off('close', onClose);
      // Later errors (resets mid-session) just end the connection.
      tlsSocket.on('error', () => {
        tlsSocket.destroy();
        socket.destroy();
      });
      resolve(tlsSocket);
    };
    const onClose = (): void => fail();
    tlsSocket.once('secure', ok);
    tlsSocket.once('error', fail);
    tlsSocket.once('close', onClose);
  });
}
