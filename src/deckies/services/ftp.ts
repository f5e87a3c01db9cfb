// FTP decoy in the manner of vsftpd: its banner, replies and limits (3 failed logins, 1 s delay after a
// failure, PORT only to the client's own address and never to a privileged port). Anonymous logins see a
// public area; configured weak accounts see a bait home directory. Uploads are captured into the
// quarantine with their SHA-256; downloads are served from the generated bait tree.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { DecoyService, ServiceContext, Session } from '../service.ts';
import { LineConn } from '../proto/line-conn.ts';
import { personaFacts } from '../personas/facts.ts';
import { mailDomainFor, fqdnFor } from '../mail/domain.ts';
import { anonymousTree, cloneTree, listLine, lookup, mdtm, resolvePath, userTree, type BaitContext, type FtpNode } from '../ftp/fake-tree.ts';
import { createHash } from 'node:crypto';

const MAX_LINE = 4096; // vsftpd's command line limit
const MAX_LOGIN_FAILS = 3;
const FAIL_DELAY_MS = 1000;
const DATA_ACCEPT_TIMEOUT_MS = 60_000;
const DATA_CONNECT_TIMEOUT_MS = 10_000;
/** Uploaded content kept per session so a visitor can download what they uploaded. */
const SESSION_KEEP_BYTES = 512 * 1024;
const MAX_TREE_ENTRIES = 512;

interface FtpConfig {
  banner: string;
  anonymous: boolean;
  accounts: Map<string, string>;
  maxUpload: number;
}

function parseAccounts(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of spec.split(',')) {
    const t = item.trim();
    if (!t) continue;
    const colon = t.indexOf(':');
    if (colon <= 0) throw new Error(`ftp users must be "user:password" pairs separated by commas; bad entry ${JSON.stringify(t)}`);
    out.set(t.slice(0, colon), t.slice(colon + 1));
  }
  return out;
}

function readConfig(ctx: ServiceContext): FtpConfig {
  const facts = personaFacts(ctx.decky.persona);
  const banner = (ctx.config.banner ?? 'auto').trim();
  const maxUpload = Number(ctx.config.max_upload ?? '10485760');
  if (!Number.isInteger(maxUpload) || maxUpload < 1 || maxUpload > 1024 * 1024 * 1024) throw new Error(`ftp max_upload must be a byte count 1..1073741824, got ${JSON.stringify(ctx.config.max_upload)}`);
  const anon = (ctx.config.anonymous ?? 'yes').toLowerCase();
  if (!['yes', 'no', 'true', 'false', '1', '0', 'on', 'off'].includes(anon)) throw new Error(`ftp anonymous must be yes or no, got ${JSON.stringify(ctx.config.anonymous)}`);
  return {
    banner: banner === '' || banner === 'auto' ? (facts.vsftpd ? `(vsFTPd ${facts.vsftpd})` : 'Microsoft FTP Service') : banner.replace(/[\r\n]/g, ' ').slice(0, 200),
    anonymous: ['yes', 'true', '1', 'on'].includes(anon),
    accounts: parseAccounts(ctx.config.users ?? 'admin:admin'),
    maxUpload,
  };
}

/** A pending data connection: passive (we listen) or active (we connect to the client). */
interface DataChannel {
  open(): Promise<Socket | null>;
  close(): void;
}

function stripV4Mapped(ip: string | undefined): string {
  return (ip ?? '').replace(/^::ffff:/, '');
}

class FtpSession {
  private readonly conn: LineConn;
  private user = '';
  private loggedIn = false;
  private anonymous = false;
  private failures = 0;
  private cwd = '/';
  private tree: FtpNode | null = null;
  private ownTree = false;
  private treeEntries = 0;
  private binary = false;
  private data: DataChannel | null = null;
  private renameFrom: string | null = null;
  private kept = 0;

  private readonly socket: Socket;
  private readonly session: Session;
  private readonly ctx: ServiceContext;
  private readonly cfg: FtpConfig;
  private readonly bait: BaitContext;
  private readonly passiveServers: Set<Server>;

  constructor(socket: Socket, session: Session, ctx: ServiceContext, cfg: FtpConfig, bait: BaitContext, passiveServers: Set<Server>) {
    this.socket = socket;
    this.session = session;
    this.ctx = ctx;
    this.cfg = cfg;
    this.bait = bait;
    this.passiveServers = passiveServers;
    this.conn = new LineConn(socket, { maxLine: MAX_LINE });
  }

  private reply(code: number, text: string): void {
    this.conn.write(`${code} ${text}\r\n`);
  }

  async run(): Promise<void> {
    this.reply(220, this.cfg.banner);
    try {
      for (;;) {
        const line = await this.conn.readLine();
        if (line === null) break;
        const keepGoing = await this.dispatch(line.text.replace(/^\s+/, ''), line.raw, line.overlong);
        if (!keepGoing) break;
      }
    } finally {
      this.data?.close();
      this.data = null;
    }
  }

  /** Handles one command; false ends the session. */
  private async dispatch(text: string, raw: Buffer, overlong: boolean): Promise<boolean> {
    const space = text.indexOf(' ');
    const verb = (space === -1 ? text : text.slice(0, space)).toUpperCase().slice(0, 16);
    const arg = space === -1 ? '' : text.slice(space + 1);
    if (verb !== 'PASS' && verb !== '') {
      this.session.record('command', { cmd: verb.replace(/[^\x21-\x7e]/g, '?'), arg: arg.slice(0, 512) || undefined, cwd: this.loggedIn ? this.cwd : undefined, user: this.user || undefined, overlong: overlong || undefined });
    }
    if (overlong) {
      this.reply(500, 'Unknown command.');
      return true;
    }

    // Commands that work in any state.
    switch (verb) {
      case 'QUIT':
        this.conn.end('221 Goodbye.\r\n');
        return false;
      case 'NOOP':
        this.reply(200, 'NOOP ok.');
        return true;
      case 'FEAT':
        this.conn.write('211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n');
        return true;
      case 'SYST':
        if (!this.loggedIn) break;
        this.reply(215, 'UNIX Type: L8');
        return true;
      case 'OPTS':
        this.reply(arg.toUpperCase().startsWith('UTF8') ? 200 : 501, arg.toUpperCase().startsWith('UTF8') ? 'Always in UTF8 mode.' : 'Option not understood.');
        return true;
      case 'USER':
        return this.onUser(arg);
      case 'PASS':
        return this.onPass(arg, raw.subarray(raw.indexOf(0x20) === -1 ? raw.length : raw.indexOf(0x20) + 1));
      case 'HELP':
        this.conn.write('214-The following commands are recognized.\r\n ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n XPWD XRMD\r\n214 Help OK.\r\n');
        return true;
    }
    if (!this.loggedIn) {
      this.reply(530, 'Please login with USER and PASS.');
      return true;
    }
    return this.afterLogin(verb, arg);
  }

  private onUser(arg: string): boolean {
    if (this.loggedIn) {
      this.reply(530, "Can't change to another user.");
      return true;
    }
    this.user = arg.slice(0, 256);
    const anon = /^(anonymous|ftp)$/i.test(this.user);
    if (anon && !this.cfg.anonymous) {
      this.reply(530, 'This FTP server does not allow anonymous logins.');
      this.user = '';
      return true;
    }
    this.reply(331, 'Please specify the password.');
    return true;
  }

  private async onPass(password: string, rawPassword: Buffer): Promise<boolean> {
    if (this.loggedIn) {
      this.reply(230, 'Already logged in.');
      return true;
    }
    if (!this.user) {
      this.reply(503, 'Login with USER first.');
      return true;
    }
    const anon = /^(anonymous|ftp)$/i.test(this.user);
    const expected = this.cfg.accounts.get(this.user);
    const success = anon ? this.cfg.anonymous : expected !== undefined && expected === password;
    this.session.record(
      'auth_attempt',
      { username: this.user, auth_method: anon ? 'anonymous' : 'password', success, secret_kind: 'plaintext' },
      { secret: rawPassword },
    );
    if (success) {
      this.loggedIn = true;
      this.anonymous = anon;
      this.tree = anon ? anonymousTree(this.bait) : userTree(this.bait, this.user);
      this.reply(230, 'Login successful.');
      return true;
    }
    this.failures++;
    await new Promise((r) => setTimeout(r, FAIL_DELAY_MS).unref());
    this.reply(530, 'Login incorrect.');
    this.user = '';
    if (this.failures >= MAX_LOGIN_FAILS) {
      this.conn.end();
      return false;
    }
    return true;
  }

  private writableTree(): FtpNode {
    if (!this.ownTree) {
      this.tree = cloneTree(this.tree!);
      this.ownTree = true;
    }
    return this.tree!;
  }

  private async afterLogin(verb: string, arg: string): Promise<boolean> {
    switch (verb) {
      case 'PWD':
      case 'XPWD':
        this.reply(257, `"${this.cwd.replace(/"/g, '""')}" is the current directory`);
        return true;
      case 'CWD':
      case 'XCWD':
      case 'CDUP':
      case 'XCUP': {
        const target = resolvePath(this.cwd, verb === 'CDUP' || verb === 'XCUP' ? '..' : arg || '/');
        const node = lookup(this.tree!, target);
        if (node?.dir && (node.mode[9] === 'x' || !this.anonymous)) {
          this.cwd = target;
          this.reply(250, 'Directory successfully changed.');
        } else this.reply(550, 'Failed to change directory.');
        return true;
      }
      case 'TYPE': {
        const t = arg.trim().toUpperCase();
        if (t === 'I' || t === 'L 8') {
          this.binary = true;
          this.reply(200, 'Switching to Binary mode.');
        } else if (t === 'A' || t === 'A N') {
          this.binary = false;
          this.reply(200, 'Switching to ASCII mode.');
        } else this.reply(500, 'Unrecognised TYPE command.');
        return true;
      }
      case 'MODE':
        this.reply(arg.trim().toUpperCase() === 'S' ? 200 : 504, arg.trim().toUpperCase() === 'S' ? 'Mode set to S.' : 'Bad MODE command.');
        return true;
      case 'STRU':
        this.reply(arg.trim().toUpperCase() === 'F' ? 200 : 504, arg.trim().toUpperCase() === 'F' ? 'Structure set to F.' : 'Bad STRU command.');
        return true;
      case 'PASV':
        return this.onPassive(false);
      case 'EPSV':
        if (arg.trim().toUpperCase() === 'ALL') {
          this.reply(200, 'EPSV ALL ok.');
          return true;
        }
        return this.onPassive(true);
      case 'PORT':
        return this.onPort(arg, false);
      case 'EPRT':
        return this.onPort(arg, true);
      case 'LIST':
      case 'NLST':
      case 'STAT':
        return this.onList(verb, arg);
      case 'RETR':
        return this.onRetr(arg);
      case 'SIZE':
      case 'MDTM': {
        const node = lookup(this.tree!, resolvePath(this.cwd, arg));
        if (!node || node.dir) this.reply(550, verb === 'SIZE' ? 'Could not get file size.' : 'Could not get file modification time.');
        else this.reply(213, verb === 'SIZE' ? String(node.size) : mdtm(node));
        return true;
      }
      case 'STOR':
      case 'APPE':
      case 'STOU':
        return this.onStore(verb, arg);
      case 'DELE':
      case 'RMD':
      case 'XRMD': {
        const path = resolvePath(this.cwd, arg);
        const node = lookup(this.tree!, path);
        const wantDir = verb !== 'DELE';
        if (this.anonymous || !node || node.dir !== wantDir || path === '/' || (wantDir && node.children!.size > 0)) {
          this.reply(550, wantDir ? 'Remove directory operation failed.' : 'Delete operation failed.');
          return true;
        }
        const root = this.writableTree();
        lookup(root, resolvePath(path, '..'))!.children!.delete(node.name);
        this.reply(250, wantDir ? 'Remove directory operation successful.' : 'Delete operation successful.');
        return true;
      }
      case 'MKD':
      case 'XMKD': {
        const path = resolvePath(this.cwd, arg);
        const parentPath = resolvePath(path, '..');
        const name = path.split('/').pop() ?? '';
        if (this.anonymous || !name || lookup(this.tree!, path) || !lookup(this.tree!, parentPath)?.dir || this.treeEntries >= MAX_TREE_ENTRIES) {
          this.reply(550, 'Create directory operation failed.');
          return true;
        }
        const parent = lookup(this.writableTree(), parentPath)!;
        parent.children!.set(name, { name, dir: true, mode: 'drwxr-xr-x', uid: 1000, gid: 1000, mtime: Date.now(), size: 4096, children: new Map() });
        this.treeEntries++;
        this.reply(257, `"${path.replace(/"/g, '""')}" created`);
        return true;
      }
      case 'RNFR': {
        const path = resolvePath(this.cwd, arg);
        if (this.anonymous || !lookup(this.tree!, path) || path === '/') {
          this.reply(550, 'RNFR command failed.');
          return true;
        }
        this.renameFrom = path;
        this.reply(350, 'Ready for RNTO.');
        return true;
      }
      case 'RNTO': {
        if (!this.renameFrom) {
          this.reply(503, 'RNFR required first.');
          return true;
        }
        const from = this.renameFrom;
        this.renameFrom = null;
        const to = resolvePath(this.cwd, arg);
        const newParent = lookup(this.tree!, resolvePath(to, '..'));
        const name = to.split('/').pop() ?? '';
        if (!name || !newParent?.dir || lookup(this.tree!, to)) {
          this.reply(550, 'Rename failed.');
          return true;
        }
        const root = this.writableTree();
        const node = lookup(root, from)!;
        lookup(root, resolvePath(from, '..'))!.children!.delete(node.name);
        node.name = name;
        lookup(root, resolvePath(to, '..'))!.children!.set(name, node);
        this.reply(250, 'Rename successful.');
        return true;
      }
      case 'REST':
        if (/^\d{1,15}$/.test(arg.trim())) this.reply(350, `Restart position accepted (${arg.trim()}).`);
        else this.reply(501, 'REST: invalid parameter');
        return true;
      case 'ABOR':
        this.reply(225, 'No transfer to ABOR.');
        return true;
      case 'ALLO':
        this.reply(202, 'ALLO command ignored.');
        return true;
      case 'SITE': {
        const sub = arg.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
        if (sub === 'CHMOD') this.reply(200, 'SITE CHMOD command ok.');
        else if (sub === 'UMASK') this.reply(200, 'UMASK set to 0022 (was 0022)');
        else if (sub === 'HELP') this.reply(214, 'CHMOD UMASK HELP');
        else this.reply(500, 'Unknown SITE command.');
        return true;
      }
      case 'AUTH':
      case 'PBSZ':
      case 'PROT':
        this.reply(530, 'Please login with USER and PASS.');
        return true;
      default:
        this.reply(500, 'Unknown command.');
        return true;
    }
  }

  private controlIps(): { local: string; remote: string } {
    return { local: stripV4Mapped(this.socket.localAddress) || this.ctx.decky.ip, remote: this.session.peer.srcIp };
  }

  private onPassive(extended: boolean): Promise<boolean> {
    this.data?.close();
    this.data = null;
    const { local, remote } = this.controlIps();
    if (!extended && local.includes(':')) {
      this.reply(425, 'Use EPSV for IPv6.');
      return Promise.resolve(true);
    }
    const server = createServer({ pauseOnConnect: true });
    this.passiveServers.add(server);
    let accepted: Socket | null = null;
    let waiter: ((s: Socket | null) => void) | null = null;
    const shutdown = (): void => {
      clearTimeout(timer);
      server.close();
      this.passiveServers.delete(server);
    };
    const timer = setTimeout(() => {
      shutdown();
      waiter?.(null);
      waiter = null;
    }, DATA_ACCEPT_TIMEOUT_MS);
    timer.unref();
    server.on('connection', (s) => {
      s.on('error', () => undefined);
      // vsftpd's pasv_promiscuous=NO: the data connection must come from the control connection's address.
      if (accepted || stripV4Mapped(s.remoteAddress) !== remote) {
        this.session.record('data_channel', { mode: extended ? 'epsv' : 'pasv', from_ip: stripV4Mapped(s.remoteAddress).slice(0, 64), allowed: false });
        s.destroy();
        return;
      }
      accepted = s;
      shutdown();
      if (waiter) {
        waiter(s);
        waiter = null;
      }
    });
    server.on('error', () => {
      shutdown();
      waiter?.(null);
      waiter = null;
    });
    return new Promise((resolve) => {
      let listening = false;
      server.once('error', () => {
        if (listening) return;
        this.reply(425, 'Could not listen for passive connection.');
        resolve(true);
      });
      server.listen(0, local, () => {
        listening = true;
        const port = (server.address() as { port: number }).port;
        this.data = {
          open: () => {
            if (accepted) return Promise.resolve(accepted);
            if (!this.passiveServers.has(server)) return Promise.resolve(null);
            return new Promise((res) => {
              waiter = res;
            });
          },
          close: () => {
            shutdown();
            accepted?.destroy();
            waiter?.(null);
            waiter = null;
          },
        };
        if (extended) this.reply(229, `Entering Extended Passive Mode (|||${port}|)`);
        else this.reply(227, `Entering Passive Mode (${local.split('.').join(',')},${port >> 8},${port & 0xff}).`);
        resolve(true);
      });
    });
  }

  private onPort(arg: string, extended: boolean): boolean {
    this.data?.close();
    this.data = null;
    let ip = '';
    let port = -1;
    if (extended) {
      // EPRT |proto|address|port|
      const d = arg[0];
      const parts = d ? arg.split(d) : [];
      if (parts.length >= 5 && /^[12]$/.test(parts[1]!) && /^\d{1,5}$/.test(parts[3]!)) {
        ip = parts[2]!;
        port = Number(parts[3]);
      }
    } else {
      const m = /^(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})$/.exec(arg.trim());
      if (m && m.slice(1).every((x) => Number(x) <= 255)) {
        ip = m.slice(1, 5).join('.');
        port = Number(m[5]) * 256 + Number(m[6]);
      }
    }
    const { local, remote } = this.controlIps();
    // Never connect to a third party (FTP bounce) or to a privileged port.
    const allowed = ip === remote && port >= 1024 && port <= 65535;
    this.session.record('data_channel', { mode: extended ? 'eprt' : 'port', target_ip: ip.slice(0, 64) || undefined, target_port: port >= 0 ? port : undefined, allowed });
    if (!allowed) {
      this.reply(500, extended ? 'Bad EPRT command.' : 'Illegal PORT command.');
      return true;
    }
    let socket: Socket | null = null;
    this.data = {
      open: () =>
        new Promise((resolve) => {
          const s = connect({ host: ip, port, localAddress: local, timeout: DATA_CONNECT_TIMEOUT_MS });
          socket = s;
          s.once('connect', () => {
            s.setTimeout(0);
            resolve(s);
          });
          s.once('timeout', () => {
            s.destroy();
            resolve(null);
          });
          s.once('error', () => resolve(null));
        }),
      close: () => {
        socket?.destroy();
      },
    };
    this.reply(200, extended ? 'EPRT command successful. Consider using EPSV.' : 'PORT command successful. Consider using PASV.');
    return true;
  }

  private async openData(): Promise<Socket | null> {
    const channel = this.data;
    this.data = null;
    if (!channel) {
      this.reply(425, 'Use PORT or PASV first.');
      return null;
    }
    const s = await channel.open();
    if (!s) {
      channel.close();
      this.reply(425, 'Failed to establish connection.');
      return null;
    }
    s.on('error', () => undefined);
    return s;
  }

  private async send(s: Socket, body: Buffer, okText: string): Promise<void> {
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.once('close', () => resolve(true));
      s.end(body);
      s.resume(); // drain anything the client sends so the close completes
    });
    this.reply(ok ? 226 : 426, ok ? okText : 'Failure writing network stream.');
  }

  private async onList(verb: string, arg: string): Promise<boolean> {
    const path = arg.split(/\s+/).filter((a) => a && !a.startsWith('-')).join(' ');
    const target = resolvePath(this.cwd, path || '.');
    const node = lookup(this.tree!, target);
    const readable = node !== undefined && (!this.anonymous || !node.dir || node.mode[7] === 'r');
    const entries = !node ? [] : node.dir ? (readable ? [...node.children!.values()].sort((a, b) => a.name.localeCompare(b.name)) : []) : [node];
    if (verb === 'STAT') {
      if (!arg) {
        this.conn.write(`211-FTP server status:\r\n     Connected to ${this.session.peer.srcIp}\r\n     Logged in as ${this.anonymous ? 'ftp' : this.user}\r\n     TYPE: ${this.binary ? 'BINARY' : 'ASCII'}\r\n     No session bandwidth limit\r\n     Session timeout in seconds is 300\r\n     Control connection is plain text\r\n     Data connections will be plain text\r\n     At session startup, client count was 1\r\n     vsFTPd ${personaFacts(this.ctx.decky.persona).vsftpd || '3.0.3'} - secure, fast, stable\r\n211 End of status\r\n`);
      } else {
        this.conn.write(`213-Status follows:\r\n${entries.map((e) => listLine(e)).join('\r\n')}${entries.length ? '\r\n' : ''}213 End of status\r\n`);
      }
      return true;
    }
    const s = await this.openData();
    if (!s) return true;
    this.reply(150, 'Here comes the directory listing.');
    const lines = verb === 'NLST' ? entries.map((e) => (path ? `${path.replace(/\/$/, '')}/${e.name}` : e.name)) : entries.map((e) => listLine(e));
    await this.send(s, Buffer.from(lines.map((l) => `${l}\r\n`).join('')), 'Directory send OK.');
    return true;
  }

  private async onRetr(arg: string): Promise<boolean> {
    const path = resolvePath(this.cwd, arg);
    const node = lookup(this.tree!, path);
    const allowed = node !== undefined && !node.dir && node.content !== undefined && (node.mode[7] === 'r' || !this.anonymous);
    this.session.record('file_download', { path: path.slice(0, 1024), size: allowed ? node.size : undefined, found: allowed });
    if (!allowed) {
      this.reply(550, 'Failed to open file.');
      return true;
    }
    const s = await this.openData();
    if (!s) return true;
    const body = node.content!();
    this.reply(150, `Opening ${this.binary ? 'BINARY' : 'ASCII'} mode data connection for ${path.split('/').pop()} (${body.length} bytes).`);
    await this.send(s, body, 'Transfer complete.');
    return true;
  }

  private async onStore(verb: string, arg: string): Promise<boolean> {
    const name = verb === 'STOU' ? `${arg || 'file'}.1` : arg;
    const path = resolvePath(this.cwd, name);
    const parent = lookup(this.tree!, resolvePath(path, '..'));
    const base = path.split('/').pop() ?? '';
    // Anonymous visitors may only write where the directory is world-writable (/incoming).
    if (!base || !parent?.dir || (this.anonymous && parent.mode[8] !== 'w')) {
      this.reply(553, 'Could not create file.');
      return true;
    }
    const s = await this.openData();
    if (!s) return true;
    this.reply(150, verb === 'STOU' ? `FILE: ${base}` : 'Ok to send data.');
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const hash = createHash('sha256');
    const cap = this.cfg.maxUpload;
    const complete = await new Promise<boolean>((resolve) => {
      s.on('data', (c: Buffer) => {
        if (truncated) return;
        const room = cap - size;
        const take = c.length > room ? c.subarray(0, room) : c;
        chunks.push(take);
        hash.update(take);
        size += take.length;
        if (c.length > room) {
          truncated = true;
          s.destroy();
          resolve(false);
        }
      });
      s.once('end', () => resolve(true));
      s.once('close', () => resolve(!truncated));
      s.once('error', () => resolve(false));
      s.resume();
    });
    const data = Buffer.concat(chunks, size);
    const q = await this.ctx.quarantine('ftp', base, data, cap);
    this.session.record('file_upload', {
      name: base.slice(0, 255),
      path: path.slice(0, 1024),
      sha256: hash.digest('hex'),
      size,
      file_truncated: truncated,
      stored: q.stored ?? q.path !== '',
      quarantine_path: q.path || undefined,
      user: this.user,
    });
    // Keep small uploads in this session's tree, so listing and downloading them work.
    if (this.treeEntries < MAX_TREE_ENTRIES) {
      const keep = this.kept + size <= SESSION_KEEP_BYTES ? Buffer.from(data) : null;
      if (keep) this.kept += size;
      const dir = lookup(this.writableTree(), resolvePath(path, '..'))!;
      dir.children!.set(base, { name: base, dir: false, mode: '-rw-------', uid: this.anonymous ? 14 : 1000, gid: this.anonymous ? 50 : 1000, mtime: Date.now(), size, ...(keep ? { content: () => keep } : {}) });
      this.treeEntries++;
    }
    if (truncated) this.reply(552, 'Requested file action aborted. Exceeded storage allocation.');
    else this.reply(complete ? 226 : 426, complete ? 'Transfer complete.' : 'Failure reading network stream.');
    return true;
  }
}

const ftp: DecoyService = {
  name: 'ftp',
  summary: 'vsftpd-like FTP server with bait files',
  listens: [{ port: 21, transport: 'tcp' }],
  personaKeys: {
    banner: { summary: "220 greeting text: 'auto' gives the persona's '(vsFTPd x.y.z)'", default: 'auto' },
    anonymous: { summary: 'allow anonymous logins (yes/no)', default: 'yes', choices: ['yes', 'no'] },
    users: { summary: 'weak accounts that log in, as user:password pairs separated by commas', default: 'admin:admin' },
    max_upload: { summary: 'bytes of one upload kept in quarantine', default: '10485760' },
    domain: { summary: "domain named in bait files: 'auto' derives it from the hostname", default: 'auto' },
  },
  create(ctx) {
    const cfg = readConfig(ctx);
    const persona = ctx.decky.persona;
    const domain = mailDomainFor(persona, ctx.config.domain ?? 'auto');
    const bait: BaitContext = {
      hostname: fqdnFor(persona, domain),
      domain,
      seed: createHash('sha256').update(`${ctx.decky.name}\0ftp`).digest().readUInt32BE(0),
      distro: personaFacts(persona).distro,
      archetype: persona.archetype,
      packageManager: personaFacts(persona).packageManager,
    };
    const passiveServers = new Set<Server>();
    return {
      onConnection(socket, session) {
        const s = new FtpSession(socket, session, ctx, cfg, bait, passiveServers);
        s.run().catch((err: unknown) => {
          ctx.log.warn('ftp session failed', { err });
          socket.destroy();
        });
      },
      async close() {
        for (const server of passiveServers) server.close();
        passiveServers.clear();
      },
    };
  },
};

export default ftp;
