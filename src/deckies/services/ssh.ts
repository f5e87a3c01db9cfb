// ssh: an OpenSSH look-alike. The banner, host keys and algorithm offer follow the persona; every
// authentication attempt is recorded (password and keyboard-interactive secrets, public-key type
// and fingerprint), along with the client's version and HASSH. The configured weak credentials
// open an emulated shell (src/deckies/shell/): commands are recorded and answered from a fake
// filesystem, never executed. scp/sftp uploads go to quarantine; port forwarding is refused.
import { createHash, randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DecoyService, EventFields, ServiceContext, ServiceHandler, Session } from '../service.ts';
import { ClientHelloSniffer } from '../hassh.ts';
import { personaFacts } from '../personas/facts.ts';
import { createMachine, openShell, type Machine } from '../shell/machine.ts';
import { loadHostKeys } from '../shell/host-keys.ts';
import { Terminal } from '../shell/terminal.ts';
import { ScpSink } from '../shell/scp.ts';
import { serveSftp, type SftpServer } from '../shell/sftp.ts';
import { loginMessage, parseCredentials, type Credentials } from '../shell/login.ts';
import type { Shell } from '../shell/shell.ts';
import type { ShellHost } from '../shell/types.ts';
import type { UserEntry } from '../shell/profile.ts';

// The ssh2 objects we use, typed structurally so the library stays a lazy import.
type Ssh2 = typeof import('ssh2');

const MAX_SESSIONS = 10;
const MAX_ENV = 32;
const MAX_UPLOAD = 16 * 1024 * 1024;
const MAX_UPLOADS = 32;
// The algorithm offer, in OpenSSH's order, of what the SSH library implements.
const KEX_ALGORITHMS = ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521',
  'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group14-sha256'];
const CIPHERS = ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'];
const MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha1-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha1'];
const HOST_KEY_ALGORITHMS = ['rsa-sha2-512', 'rsa-sha2-256', 'ecdsa-sha2-nistp256', 'ssh-ed25519'];

interface Settings {
  ident: string;
  banner: string;
  creds: Credentials;
  maxAuthTries: number;
  failDelayMs: number;
  /** Windows personas: capture credentials, but no shell ever opens (the emulated shell is Linux). */
  shellAllowed: boolean;
}

function intSetting(ctx: ServiceContext, key: string, fallback: number, min: number, max: number): number {
  const raw = ctx.config[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    ctx.log.warn(`ssh: ${key}=${JSON.stringify(raw)} is not an integer in ${min}..${max}; using ${fallback}`);
    return fallback;
  }
  return n;
}

/** The software version after `SSH-2.0-`: printable ASCII without spaces-only or control characters. */
function identFrom(ctx: ServiceContext, fallback: string): string {
  const raw = (ctx.config.version ?? '').trim().replace(/^SSH-2\.0-/, '');
  if (raw === '') return fallback;
  if (!/^[\x21-\x7e][\x20-\x7e]{0,200}$/.test(raw)) {
    ctx.log.warn(`ssh: version ${JSON.stringify(raw)} has characters an SSH identification cannot carry; using ${fallback}`);
    return fallback;
  }
  return raw;
}

/** The key's fingerprint as ssh-keygen -l shows it: SHA256:<base64 without padding>. */
function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

const service: DecoyService = {
  name: 'ssh',
  summary: 'OpenSSH server with an emulated shell',
  listens: [{ port: 22, transport: 'tcp' }],
  personaKeys: {
    version: { summary: "software version after SSH-2.0- (empty: the persona's OpenSSH build)", default: '' },
    banner: { summary: 'text shown before authentication, like sshd_config Banner (empty: none)', default: '' },
    password: { summary: "root's password; a login with it opens the emulated shell", default: 'admin' },
    user: { summary: 'unprivileged login user', default: 'ubuntu' },
    user_password: { summary: "the unprivileged user's password", default: 'admin' },
    extra_logins: { summary: 'more weak logins that open a shell, as user:password[,user:password…]', default: '' },
    hostname: { summary: "host name the shell shows (empty: the persona's)", default: '' },
    max_auth_tries: { summary: 'failed attempts per connection before disconnecting (sshd MaxAuthTries)', default: '6' },
    fail_delay_ms: { summary: 'pause before a failed password is answered, as PAM adds (0-10000 ms)', default: '2000' },
  },

  async create(ctx: ServiceContext): Promise<ServiceHandler> {
    const facts = personaFacts(ctx.decky.persona);
    const creds = parseCredentials(ctx.config, (msg) => ctx.log.warn(`ssh: ${msg}`));
    const settings: Settings = {
      ident: identFrom(ctx, facts.sshVersion),
      banner: (ctx.config.banner ?? '').slice(0, 4096),
      creds,
      maxAuthTries: intSetting(ctx, 'max_auth_tries', 6, 1, 100),
      failDelayMs: intSetting(ctx, 'fail_delay_ms', 2000, 0, 10_000),
      shellAllowed: ctx.decky.persona.osFamily !== 'windows',
    };
    const machine = createMachine(ctx.decky, facts, { hostname: ctx.config.hostname || undefined, user: creds.user, extraUsers: creds.extra.map((e) => e.user) });
    const ssh2: Ssh2 = await import('ssh2');
    const lib = (ssh2 as unknown as { default?: Ssh2 }).default ?? ssh2;
    const keyDir = ctx.stateDir;
    const { keys, persisted } = await loadHostKeys(keyDir, `root@${machine.profile.shortHostname}`);
    if (!persisted) ctx.log.warn('ssh: host keys could not be saved; they will change on restart', { dir: keyDir });
    // Parsed once; the per-connection Server accepts parsed keys wrapped as {key}. RSA first, then
    // ECDSA and ed25519: the order in which OpenSSH offers them.
    const order = ['ssh-rsa', 'ecdsa-sha2-nistp256', 'ssh-ed25519'];
    keys.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
    const hostKeys = keys.map((k) => lib.utils.parseKey(k.pem)).filter((k) => !(k instanceof Error)).map((key) => ({ key }));
    const open = new Set<Socket>();
    return {
      onConnection(socket, session) {
        open.add(socket);
        socket.once('close', () => open.delete(socket));
        handleConnection(lib, ctx, settings, machine, hostKeys as unknown[], socket, session);
      },
      async close() {
        for (const s of open) s.destroy();
      },
    };
  },
};

export default service;

function handleConnection(lib: Ssh2, ctx: ServiceContext, settings: Settings, machine: Machine, hostKeys: unknown[], socket: Socket, session: Session): void {
  const sessionId = randomUUID();
  const record = (event: string, fields: EventFields = {}, secret?: string | Buffer): void => {
    session.record(event, { session_id: sessionId, ...fields }, secret === undefined ? undefined : { secret });
  };

  // HASSH: tee the cleartext start of the stream before the SSH library consumes it.
  const sniffer = new ClientHelloSniffer();
  let helloRecorded = false;
  const onData = (chunk: Buffer): void => {
    const hello = sniffer.push(chunk);
    if (hello?.hassh) {
      helloRecorded = true;
      record('client_hello', { client_version: hello.clientVersion, hassh: hello.hassh.hassh, hassh_algorithms: hello.hassh.algorithms });
    }
    if (sniffer.done) {
      socket.off('data', onData);
      if (!helloRecorded) {
        helloRecorded = true;
        if (sniffer.clientVersion) record('client_hello', { client_version: sniffer.clientVersion, error: sniffer.error });
        else record('payload', { bytes: sniffer.head.length, preview: sniffer.head.toString('latin1').replace(/[^\x20-\x7e]/g, '.').slice(0, 128), error: sniffer.error });
      }
    }
  };
  socket.on('data', onData);
  socket.once('close', () => {
    if (!helloRecorded && sniffer.clientVersion) record('client_hello', { client_version: sniffer.clientVersion, error: 'no KEXINIT' });
  });

  const server = new lib.Server({
    hostKeys: hostKeys as never,
    ident: settings.ident,
    banner: settings.banner || undefined,
    algorithms: { kex: KEX_ALGORITHMS as never, cipher: CIPHERS as never, hmac: MACS as never, serverHostKey: HOST_KEY_ALGORITHMS as never, compress: ['none', 'zlib@openssh.com'] as never },
  });
  server.on('connection', (client) => serveClient(ctx, settings, machine, client, socket, session, record));
  server.on('error', () => socket.destroy());
  server.injectSocket(socket);
}

type Recorder = (event: string, fields?: EventFields, secret?: string | Buffer) => void;

function serveClient(ctx: ServiceContext, settings: Settings, machine: Machine, client: import('ssh2').Connection, socket: Socket, session: Session, record: Recorder): void {
  let failures = 0;
  let user: UserEntry | undefined;
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  socket.once('close', () => {
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
  });
  client.on('error', () => { /* the socket closes; the host records the disconnect */ });

  const methods = ['publickey', 'password', 'keyboard-interactive'] as const;
  const later = (fn: () => void, ms: number): void => {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) fn();
    }, ms + Math.floor((Math.random() - 0.5) * ms * 0.4));
    timers.add(t);
  };
  const fail = (reject: () => void, delay: boolean): void => {
    failures++;
    later(() => {
      if (failures >= settings.maxAuthTries) {
        record('auth_blocked', { attempts: failures, reason: 'max_auth_tries' });
        client.end();
        return;
      }
      reject();
    }, delay ? settings.failDelayMs : 0);
  };
  const login = (username: string, password: string): UserEntry | undefined => {
    if (!settings.shellAllowed) return undefined;
    const name = settings.creds.check(username, password);
    return name ? machine.profile.users.find((u) => u.name === name) : undefined;
  };

  client.on('authentication', (actx) => {
    const username = actx.username.slice(0, 256);
    switch (actx.method) {
      case 'password': {
        const password = actx.password.slice(0, 1024);
        const ok = login(username, password);
        record('auth_attempt', { username, auth_method: 'password', success: !!ok }, password);
        if (ok) { user = ok; actx.accept(); } else fail(() => actx.reject([...methods]), true);
        return;
      }
      case 'keyboard-interactive': {
        actx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
          // An aborted prompt (the client moved on to another method) gets no answer of ours.
          if (closed || !Array.isArray(answers)) return;
          const password = String(answers[0] ?? '').slice(0, 1024);
          const ok = login(username, password);
          record('auth_attempt', { username, auth_method: 'keyboard-interactive', success: !!ok }, password);
          if (ok) { user = ok; actx.accept(); } else fail(() => actx.reject([...methods]), true);
        });
        return;
      }
      case 'publickey': {
        const blob = actx.key.data;
        record('auth_attempt', { username, auth_method: 'publickey', success: false, key_type: actx.key.algo.slice(0, 64), fingerprint: fingerprint(blob), signed: !!actx.signature });
        fail(() => actx.reject([...methods]), false);
        return;
      }
      case 'hostbased':
        record('auth_attempt', { username, auth_method: 'hostbased', success: false });
        fail(() => actx.reject([...methods]), false);
        return;
      default:
        // 'none': clients ask which methods exist; not an attempt.
        actx.reject([...methods]);
    }
  });

  client.on('ready', () => {
    const loginUser = user!;
    let sessions = 0;
    client.on('session', (accept, reject) => {
      if (++sessions > MAX_SESSIONS) return reject();
      const channelSession = accept();
      handleSession(ctx, settings, machine, channelSession, loginUser, session, record);
    });
    client.on('tcpip', (_accept, reject, info) => {
      record('tunnel_request', { kind: 'direct-tcpip', dest_host: info.destIP.slice(0, 255), dest_port: info.destPort, orig_host: info.srcIP.slice(0, 255), orig_port: info.srcPort });
      reject();
    });
    client.on('openssh.streamlocal', (_accept, reject, info) => {
      record('tunnel_request', { kind: 'direct-streamlocal', socket_path: String(info.socketPath).slice(0, 255) });
      reject();
    });
    client.on('request', (_accept, reject, name, info) => {
      const i = info as { bindAddr?: string; bindPort?: number; socketPath?: string };
      record('tunnel_request', { kind: name.slice(0, 64), bind_host: i.bindAddr?.slice(0, 255), bind_port: i.bindPort, socket_path: i.socketPath?.slice(0, 255) });
      reject?.();
    });
  });
}

function handleSession(ctx: ServiceContext, settings: Settings, machine: Machine, s: import('ssh2').Session, user: UserEntry, session: Session, record: Recorder): void {
  let pty: { term: string; cols: number; rows: number } | undefined;
  let envCount = 0;
  let shell: Shell | undefined;
  const abort = new AbortController();
  const env: [string, string][] = [];
  s.on('close', () => abort.abort());

  const host = (mode: 'shell' | 'exec', terminal?: () => Terminal | undefined): ShellHost => ({
    record: (event, fields, secret) => record(event, fields, secret),
    readSecret: (prompt) => terminal?.()?.readSecret(prompt) ?? Promise.resolve(null),
    checkPassword: (name, password) => settings.creds.check(name, password) === name,
    signal: abort.signal,
    mode,
    tty: pty ? 'pts/0' : '?',
    clientIp: session.peer.srcIp,
    clientPort: session.peer.srcPort,
    serverPort: session.peer.dstPort,
    loginTime: Date.now(),
  });
  const newShell = (mode: 'shell' | 'exec', terminal?: () => Terminal | undefined): Shell => {
    const sh = openShell(machine, user, host(mode, terminal));
    for (const [k, v] of env) if (/^(LANG|LC_[A-Z]+|TERM)$/.test(k)) sh.env.set(k, v);
    if (pty) {
      sh.env.set('TERM', pty.term || 'xterm');
      sh.env.set('COLUMNS', String(pty.cols || 80));
    }
    return sh;
  };

  s.on('pty', (accept, _reject, info) => {
    pty = { term: String(info.term ?? '').slice(0, 64), cols: Math.min(info.cols || 80, 1000), rows: Math.min(info.rows || 24, 1000) };
    record('request', { kind: 'pty-req', term: pty.term, cols: pty.cols, rows: pty.rows });
    accept?.();
  });
  s.on('window-change', (accept, _reject, info) => {
    if (pty) pty.cols = Math.min(info.cols || 80, 1000);
    shell?.env.set('COLUMNS', String(pty?.cols ?? 80));
    accept?.();
  });
  s.on('env', (accept, _reject, info) => {
    if (++envCount <= MAX_ENV) {
      const key = String(info.key).slice(0, 64);
      const val = String(info.val).slice(0, 512);
      env.push([key, val]);
      record('request', { kind: 'env', name: key, value: val });
    }
    accept?.();
  });
  s.on('x11', (_accept, reject) => { record('request', { kind: 'x11-req' }); reject?.(); });
  s.on('auth-agent', (_accept, reject) => { record('request', { kind: 'auth-agent-req' }); reject?.(); });
  s.on('signal', (accept) => accept?.());

  s.on('shell', (accept) => {
    const channel = accept();
    let term: Terminal | undefined;
    shell = newShell('shell', () => term);
    term = new Terminal(shell, {
      out: (t) => channel.write(t),
      err: (t) => channel.stderr.write(t),
      close: (status) => { channel.exit(status); channel.end(); },
    }, { interactive: !!pty });
    channel.on('data', (d: Buffer) => term!.feed(d));
    channel.on('end', () => term!.end());
    channel.on('error', () => undefined);
    term.start(pty ? loginMessage(machine.profile, session.peer.srcIp) : '');
  });

  s.on('exec', (accept, _reject, info) => {
    const channel = accept();
    channel.on('error', () => undefined);
    const command = String(info.command);
    shell = newShell('exec');
    const scpTarget = scpSinkTarget(command);
    if (scpTarget !== undefined) {
      record('command', { command: command.slice(0, 8192), cwd: shell.cwd, user: user.name, mode: 'exec' });
      receiveScp(ctx, shell, channel, scpTarget, record);
      return;
    }
    const sh = shell;
    const out = { write: (t: string) => channel.write(pty ? t.replace(/\r?\n/g, '\r\n') : t) };
    const err = { write: (t: string) => (pty ? channel : channel.stderr).write(pty ? t.replace(/\r?\n/g, '\r\n') : t) };
    void (async () => {
      let status = 0;
      try {
        status = await sh.runLine(command, out, err);
      } catch (e) {
        err.write('Segmentation fault (core dumped)\n');
        record('shell_error', { error: String((e as Error)?.message ?? e).slice(0, 200) });
        status = 139;
      }
      if (!abort.signal.aborted) {
        channel.exit(status);
        channel.end();
      }
    })();
  });

  s.on('sftp', (accept) => {
    const sftp = accept();
    shell = newShell('exec');
    record('request', { kind: 'subsystem', name: 'sftp' });
    let uploads = 0;
    serveSftp(sftp as unknown as SftpServer, shell, {
      maxFileBytes: MAX_UPLOAD,
      record: (event, fields) => record(event, fields),
      onUpload: (u) => {
        if (++uploads > MAX_UPLOADS) return;
        void storeUpload(ctx, shell!, u.path, u.data, u.size, u.truncated, 'sftp', record);
      },
    });
  });
  s.on('subsystem', (_accept, reject, info) => {
    record('request', { kind: 'subsystem', name: String(info.name).slice(0, 64) });
    reject?.();
  });
}

/** `scp -t [opts] target` (the receiving side of an upload): the target, else undefined. */
function scpSinkTarget(command: string): string | undefined {
  const words = command.trim().split(/\s+/).slice(0, 32);
  if (words[0] !== 'scp' && words[0] !== '/usr/bin/scp') return undefined;
  const flags = words.slice(1).filter((w) => w.startsWith('-'));
  if (!flags.some((f) => /^-[a-zA-Z]*t/.test(f))) return undefined;
  const target = words.slice(1).find((w) => !w.startsWith('-')) ?? '.';
  return target.replace(/^['"]|['"]$/g, '') || '.';
}

function receiveScp(ctx: ServiceContext, shell: Shell, channel: import('ssh2').ServerChannel, target: string, record: Recorder): void {
  const base = shell.resolve(target);
  const targetIsDir = shell.safeLookup(base)?.kind === 'dir';
  const sink = new ScpSink({
    maxFileBytes: MAX_UPLOAD,
    maxFiles: MAX_UPLOADS,
    reply: (data) => channel.write(data),
    onFile: (f) => {
      const path = targetIsDir || f.name.includes('/') ? `${base === '/' ? '' : base}/${f.name}` : base;
      void storeUpload(ctx, shell, path, f.data, f.size, f.truncated, 'scp', record);
    },
    onDone: (status) => {
      channel.exit(status);
      channel.end();
    },
  });
  channel.on('data', (d: Buffer) => sink.push(d));
  channel.on('end', () => sink.end());
}

async function storeUpload(ctx: ServiceContext, shell: Shell, path: string, data: Buffer, size: number, truncated: boolean, tool: string, record: Recorder): Promise<void> {
  const q = await ctx.quarantine('upload', path.split('/').pop() || 'upload', data, MAX_UPLOAD);
  record('file_upload', {
    path: path.slice(0, 1024), tool, size, sha256: q.sha256, stored_as: q.path || undefined, stored: q.stored ?? true,
    capped: truncated || q.truncated, user: shell.user.name,
  });
  try {
    // The file also appears in the session's filesystem (text as is; binaries keep their header).
    shell.vfs.writeFile(path, data.subarray(0, 64 * 1024).toString('latin1'), shell.identity, false, 0o644);
  } catch {
    // Overlay full or no permission: the attacker sees nothing new, the capture is already stored.
  }
}
