// telnet: a login prompt in front of the same emulated shell as ssh. Option negotiation follows
// the persona: Linux telnetd's opening (DO TTYPE, TSPEED, XDISPLOC, NEW-ENVIRON) or BusyBox
// telnetd's on embedded devices. IAC sequences are parsed out of the input (bounded), the client's
// options and terminal type are recorded as its fingerprint, every login attempt is recorded, and
// the configured weak credentials open the shell, where every command is recorded, never run.
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DecoyService, EventFields, ServiceContext, ServiceHandler, Session } from '../service.ts';
import { personaFacts } from '../personas/facts.ts';
import { createMachine, openShell, type Machine } from '../shell/machine.ts';
import { loginMessage, parseCredentials, type Credentials } from '../shell/login.ts';
import { Terminal } from '../shell/terminal.ts';
import type { Shell } from '../shell/shell.ts';
import type { UserEntry } from '../shell/profile.ts';

const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
const IP = 244;
const AYT = 246;
const OPT = { ECHO: 1, SGA: 3, TTYPE: 24, NAWS: 31, TSPEED: 32, LFLOW: 33, XDISPLOC: 35, NEW_ENVIRON: 39 } as const;
const VERB_NAMES: Record<number, string> = { [WILL]: 'WILL', [WONT]: 'WONT', [DO]: 'DO', [DONT]: 'DONT' };

const MAX_SB = 512;
const MAX_LOGIN_LINE = 256;
const MAX_LOGIN_TYPEAHEAD = 4096;
/**
 * Linux telnetd waits for the answers to its first four options before it prompts (a client that
 * never answers sees nothing more, which is also what scanners fingerprint). We give up waiting
 * after this long, or as soon as the client answers all four or simply types.
 */
const NEGOTIATION_WAIT_MS = 8000;
const FIRST_OPTIONS: readonly number[] = [OPT.TTYPE, OPT.TSPEED, OPT.XDISPLOC, OPT.NEW_ENVIRON];

interface Settings {
  creds: Credentials;
  maxAuthTries: number;
  failDelayMs: number;
  issue: string;
  /** Whose telnetd this imitates: Linux (netkit/inetutils), BusyBox, or Windows' Telnet Service. */
  flavor: 'linux' | 'busybox' | 'windows';
}

function intSetting(ctx: ServiceContext, key: string, fallback: number, min: number, max: number): number {
  const raw = ctx.config[key];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    ctx.log.warn(`telnet: ${key}=${JSON.stringify(raw)} is not an integer in ${min}..${max}; using ${fallback}`);
    return fallback;
  }
  return n;
}

/** /etc/issue.net with getty escapes expanded the way telnetd does (\n host, \r kernel, \m machine, \S OS). */
function expandIssue(text: string, machine: Machine): string {
  const p = machine.profile;
  return text.replace(/\\([nlrmsSvo])/g, (_m, k: string) => {
    switch (k) {
      case 'n': return p.shortHostname;
      case 'l': return 'pts/0';
      case 'r': return p.facts.kernelRelease;
      case 'm': return p.machine;
      case 's': return 'Linux';
      case 'S': return p.facts.prettyName;
      case 'v': return p.facts.kernelVersion;
      default: return '';
    }
  });
}

const service: DecoyService = {
  name: 'telnet',
  summary: 'telnet login with the same emulated shell',
  listens: [{ port: 23, transport: 'tcp' }],
  personaKeys: {
    banner: { summary: "text shown before the login prompt (empty: the persona's /etc/issue.net)", default: '' },
    password: { summary: "root's password; a login with it opens the emulated shell", default: 'admin' },
    user: { summary: 'unprivileged login user', default: 'ubuntu' },
    user_password: { summary: "the unprivileged user's password", default: 'admin' },
    extra_logins: { summary: 'more weak logins that open a shell, as user:password[,user:password…]', default: '' },
    hostname: { summary: "host name in the login prompt and shell (empty: the persona's)", default: '' },
    max_auth_tries: { summary: 'failed logins per connection before it is closed', default: '3' },
    fail_delay_ms: { summary: 'pause before "Login incorrect", as login(1) does (0-10000 ms)', default: '2000' },
  },

  create(ctx: ServiceContext): ServiceHandler {
    const facts = personaFacts(ctx.decky.persona);
    const creds = parseCredentials(ctx.config, (msg) => ctx.log.warn(`telnet: ${msg}`));
    const machine = createMachine(ctx.decky, facts, { hostname: ctx.config.hostname || undefined, user: creds.user, extraUsers: creds.extra.map((e) => e.user) });
    const firstIssueLine = facts.issue.split('\n')[0]!.replace(/\s*\\[nl]\s*/g, ' ').trim();
    const settings: Settings = {
      creds,
      maxAuthTries: intSetting(ctx, 'max_auth_tries', 3, 1, 100),
      failDelayMs: intSetting(ctx, 'fail_delay_ms', 2000, 0, 10_000),
      issue: (ctx.config.banner ?? '').slice(0, 4096) || (facts.busybox || !facts.issue ? '' : expandIssue(firstIssueLine, machine)),
      flavor: facts.busybox ? 'busybox' : ctx.decky.persona.osFamily === 'windows' ? 'windows' : 'linux',
    };
    const open = new Set<Socket>();
    return {
      onConnection(socket, session) {
        open.add(socket);
        socket.once('close', () => open.delete(socket));
        new TelnetConnection(settings, machine, socket, session).start();
      },
      async close() {
        for (const s of open) s.destroy();
      },
    };
  },
};

export default service;

/** Escapes IAC in outgoing data and converts text to bytes. */
function encodeOut(text: string): Buffer {
  const raw = Buffer.from(text, 'utf8');
  if (!raw.includes(IAC)) return raw;
  const out: number[] = [];
  for (const b of raw) {
    out.push(b);
    if (b === IAC) out.push(IAC);
  }
  return Buffer.from(out);
}

class TelnetConnection {
  private readonly s: Settings;
  private readonly machine: Machine;
  private readonly socket: Socket;
  private readonly session: Session;
  private readonly sessionId = randomUUID();
  private state: 'negotiating' | 'user' | 'pass' | 'checking' | 'shell' | 'closed' = 'negotiating';
  // IAC parser state.
  private iac: 'data' | 'iac' | 'verb' | 'sb' | 'sb-iac' = 'data';
  private verb = 0;
  private sb: number[] = [];
  private readonly replied = new Set<string>();
  private readonly answered = new Set<number>();
  private readonly options: string[] = [];
  private ttype: string | undefined;
  private naws: string | undefined;
  private readonly env: string[] = [];
  private helloRecorded = false;
  // Login line editing.
  private line = '';
  private lastCR = false;
  private username = '';
  private loginTypeahead: Buffer = Buffer.alloc(0);
  private failures = 0;
  private terminal: Terminal | undefined;
  private shell: Shell | undefined;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(settings: Settings, machine: Machine, socket: Socket, session: Session) {
    this.s = settings;
    this.machine = machine;
    this.socket = socket;
    this.session = session;
  }

  private record(event: string, fields: EventFields = {}, secret?: string): void {
    this.session.record(event, { session_id: this.sessionId, ...fields }, secret === undefined ? undefined : { secret });
  }

  private send(bytes: number[] | Buffer): void {
    if (this.state !== 'closed' && !this.socket.destroyed) this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  private text(t: string): void {
    this.send(encodeOut(t));
  }

  start(): void {
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.socket.once('close', () => this.onClose());
    if (this.s.flavor === 'busybox') {
      // BusyBox telnetd: DO ECHO, DO NAWS, DO LFLOW, WILL ECHO, WILL SGA, then login(1) straight away.
      this.send([IAC, DO, OPT.ECHO, IAC, DO, OPT.NAWS, IAC, DO, OPT.LFLOW, IAC, WILL, OPT.ECHO, IAC, WILL, OPT.SGA]);
      this.promptLogin();
      return;
    }
    if (this.s.flavor === 'windows') {
      // Microsoft Telnet Service: asks for NTLM auth, echo, SGA, environment, window size, binary.
      this.send([IAC, DO, 37, IAC, WILL, OPT.ECHO, IAC, WILL, OPT.SGA, IAC, DO, OPT.NEW_ENVIRON, IAC, DO, OPT.NAWS, IAC, DO, 0, IAC, WILL, 0]);
      this.text('Welcome to Microsoft Telnet Service \r\n\n\r');
      this.promptLogin();
      return;
    }
    // Linux telnetd asks for the terminal first and waits briefly for the answers.
    this.send([IAC, DO, OPT.TTYPE, IAC, DO, OPT.TSPEED, IAC, DO, OPT.XDISPLOC, IAC, DO, OPT.NEW_ENVIRON]);
    this.timer = setTimeout(() => this.afterNegotiation(), NEGOTIATION_WAIT_MS);
  }

  private afterNegotiation(): void {
    if (this.state !== 'negotiating') return;
    this.timer = undefined;
    this.send([IAC, WILL, OPT.SGA, IAC, WILL, OPT.ECHO, IAC, DO, OPT.NAWS]);
    this.text(this.s.issue ? `\r\n${this.s.issue}\r\n` : '\r\n');
    this.promptLogin();
  }

  private promptLogin(): void {
    this.state = 'user';
    this.text(this.s.flavor === 'windows' ? 'login: ' : `${this.machine.profile.shortHostname} login: `);
  }

  private onData(chunk: Buffer): void {
    const data: number[] = [];
    for (const b of chunk) {
      switch (this.iac) {
        case 'data':
          if (b === IAC) this.iac = 'iac';
          else data.push(b);
          break;
        case 'iac':
          if (b === IAC) { data.push(IAC); this.iac = 'data'; }
          else if (b >= WILL && b <= DONT) { this.verb = b; this.iac = 'verb'; }
          else if (b === SB) { this.sb = []; this.iac = 'sb'; }
          else {
            if (b === IP) data.push(0x03);
            if (b === AYT) this.text('\r\n[Yes]\r\n');
            this.iac = 'data';
          }
          break;
        case 'verb':
          this.negotiate(this.verb, b);
          this.iac = 'data';
          break;
        case 'sb':
          if (b === IAC) this.iac = 'sb-iac';
          else if (this.sb.length < MAX_SB) this.sb.push(b);
          break;
        case 'sb-iac':
          if (b === SE) { this.subnegotiation(this.sb); this.iac = 'data'; }
          else if (b === IAC) { if (this.sb.length < MAX_SB) this.sb.push(IAC); this.iac = 'sb'; }
          else this.iac = 'data';
          break;
      }
    }
    if (data.length === 0) return;
    const bytes = Buffer.from(data);
    if (this.state === 'shell') this.terminal?.feed(bytes);
    else if (this.state === 'negotiating') {
      // A client that types before negotiation settles (bots): prompt now and take the input.
      clearTimeout(this.timer);
      this.afterNegotiation();
      this.loginInput(bytes);
    } else this.loginInput(bytes);
  }

  private negotiate(verb: number, opt: number): void {
    if (this.options.length < 32) this.options.push(`${VERB_NAMES[verb]} ${opt}`);
    if (this.state === 'negotiating' && (verb === WILL || verb === WONT) && FIRST_OPTIONS.includes(opt)) {
      this.answered.add(opt);
      if (this.answered.size === FIRST_OPTIONS.length) {
        clearTimeout(this.timer);
        // Let the terminal-type subnegotiation arrive before prompting, as telnetd does.
        this.timer = setTimeout(() => this.afterNegotiation(), 50);
      }
    }
    const once = (reply: number[], key: string): void => {
      if (this.replied.has(key)) return;
      this.replied.add(key);
      this.send(reply);
    };
    if (verb === WILL) {
      if (opt === OPT.TTYPE) once([IAC, SB, OPT.TTYPE, 1, IAC, SE], 'sb-ttype');
      else if (opt === OPT.TSPEED) once([IAC, SB, OPT.TSPEED, 1, IAC, SE], 'sb-tspeed');
      else if (opt === OPT.NEW_ENVIRON) once([IAC, SB, OPT.NEW_ENVIRON, 1, IAC, SE], 'sb-env');
      else if (opt !== OPT.NAWS && opt !== OPT.XDISPLOC && opt !== OPT.LFLOW && opt !== OPT.ECHO) once([IAC, DONT, opt], `dont-${opt}`);
    } else if (verb === DO) {
      if (opt !== OPT.ECHO && opt !== OPT.SGA) once([IAC, WONT, opt], `wont-${opt}`);
    }
    // WONT/DONT: nothing to answer (we never insist).
  }

  private subnegotiation(sb: number[]): void {
    const opt = sb[0];
    const printable = (bytes: number[]): string => Buffer.from(bytes).toString('latin1').replace(/[^\x20-\x7e]/g, '?').slice(0, 128);
    if (opt === OPT.TTYPE && sb[1] === 0) this.ttype = printable(sb.slice(2));
    else if (opt === OPT.NAWS && sb.length >= 5) {
      const cols = (sb[1]! << 8) | sb[2]!;
      const rows = (sb[3]! << 8) | sb[4]!;
      this.naws = `${cols}x${rows}`;
      if (this.shell && cols > 0 && cols < 1000) this.shell.env.set('COLUMNS', String(cols));
    } else if (opt === OPT.NEW_ENVIRON && sb[1] === 0 && this.env.length < 16) {
      // IS: (VAR|USERVAR name [VALUE value])*; types 0 VAR, 1 VALUE, 2 ESC, 3 USERVAR.
      let cur = '';
      for (const b of sb.slice(2)) {
        if (b === 0 || b === 3) { if (cur) this.env.push(cur); cur = ''; }
        else if (b === 1) cur += '=';
        else if (b !== 2) cur += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?';
      }
      if (cur) this.env.push(cur.slice(0, 128));
    } else if (opt === OPT.TSPEED && sb[1] === 0) {
      this.env.push(`TSPEED=${printable(sb.slice(2))}`);
    }
  }

  private recordHello(): void {
    if (this.helloRecorded) return;
    this.helloRecorded = true;
    this.record('client_hello', { ttype: this.ttype, naws: this.naws, options: this.options.join(',') || undefined, environ: this.env.join(' ').slice(0, 512) || undefined });
  }

  private loginInput(bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if ((b === 0x0a || b === 0x00) && this.lastCR) { this.lastCR = false; continue; }
      if (this.state === 'checking') {
        // Typed ahead while the password is checked: read after the next prompt, like a tty.
        if (this.loginTypeahead.length + bytes.length - i <= MAX_LOGIN_TYPEAHEAD) this.loginTypeahead = Buffer.concat([this.loginTypeahead, bytes.subarray(i)]);
        return;
      }
      if (this.state === 'shell') {
        this.terminal?.feed(bytes.subarray(i));
        return;
      }
      if (this.state !== 'user' && this.state !== 'pass') return;
      this.lastCR = b === 0x0d;
      if (b === 0x0d || b === 0x0a) {
        const line = this.line;
        this.line = '';
        this.text('\r\n');
        this.loginLine(line);
        continue;
      }
      if (b === 0x7f || b === 0x08) {
        if (this.line.length) { this.line = this.line.slice(0, -1); if (this.state === 'user') this.text('\b \b'); }
        continue;
      }
      if (b === 0x03 || b === 0x04) { this.close(); return; }
      if (b < 0x20 || this.line.length >= MAX_LOGIN_LINE) continue;
      const ch = String.fromCharCode(b);
      this.line += ch;
      if (this.state === 'user') this.text(ch);
    }
  }

  private loginLine(line: string): void {
    if (this.state === 'user') {
      if (line.trim() === '') { this.promptLogin(); return; }
      this.username = Buffer.from(line, 'latin1').toString('utf8').trim().slice(0, 128);
      this.state = 'pass';
      this.text(this.s.flavor === 'windows' ? 'password: ' : 'Password: ');
      return;
    }
    const password = Buffer.from(line, 'latin1').toString('utf8');
    this.state = 'checking';
    this.recordHello();
    // Windows personas capture credentials only: the emulated shell is a Linux one.
    const name = this.s.flavor !== 'windows' ? this.s.creds.check(this.username, password) : undefined;
    this.record('auth_attempt', { username: this.username, auth_method: 'password', success: !!name }, password);
    const user = name ? this.machine.profile.users.find((u) => u.name === name) : undefined;
    if (user) {
      this.startShell(user);
      return;
    }
    this.failures++;
    const delay = this.s.failDelayMs ? this.s.failDelayMs + Math.floor((Math.random() - 0.5) * this.s.failDelayMs * 0.4) : 0;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'closed') return;
      this.text(this.s.flavor === 'windows' ? '\r\nLogin Failed\r\n\r\n' : '\r\nLogin incorrect\r\n');
      if (this.failures >= this.s.maxAuthTries) { this.close(); return; }
      this.promptLogin();
      const pending = this.loginTypeahead;
      this.loginTypeahead = Buffer.alloc(0);
      if (pending.length) this.loginInput(pending);
    }, delay);
  }

  private startShell(user: UserEntry): void {
    this.state = 'shell';
    const shell = openShell(this.machine, user, {
      record: (event, fields, secret) => this.record(event, fields, secret),
      readSecret: (prompt) => this.terminal?.readSecret(prompt) ?? Promise.resolve(null),
      checkPassword: (n, p) => this.s.creds.check(n, p) === n,
      signal: this.abort.signal,
      mode: 'shell',
      tty: 'pts/0',
      clientIp: this.session.peer.srcIp,
      clientPort: this.session.peer.srcPort,
      serverPort: this.session.peer.dstPort,
      loginTime: Date.now(),
    });
    this.shell = shell;
    if (this.naws) shell.env.set('COLUMNS', this.naws.split('x')[0]!);
    if (this.ttype) shell.env.set('TERM', this.ttype.toLowerCase());
    this.terminal = new Terminal(shell, {
      out: (t) => this.text(t),
      err: (t) => this.text(t),
      close: () => this.close(),
    }, { interactive: true });
    this.terminal.start(loginMessage(this.machine.profile, this.session.peer.srcIp));
    const pending = this.loginTypeahead;
    this.loginTypeahead = Buffer.alloc(0);
    if (pending.length) this.terminal.feed(pending);
  }

  private close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.timer);
    this.abort.abort();
    this.socket.end();
  }

  private onClose(): void {
    if (!this.helloRecorded && this.options.length) this.recordHello();
    if (this.state !== 'closed') {
      this.state = 'closed';
      clearTimeout(this.timer);
      this.abort.abort();
    }
    this.terminal?.end();
  }
}
