// SMTP decoy in the manner of Postfix: its greeting, EHLO capabilities, enhanced status codes and limits
// (10 MB messages, 100 recipients, 20 errors). It captures AUTH PLAIN/LOGIN credentials, accepts mail into
// the quarantine as .eml (never delivering anything), and by default behaves as an open relay so spammers'
// relay tests and payloads are recorded. STARTTLS uses the decky's certificate.
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DecoyService, Listen, ServiceContext, Session } from '../service.ts';
import { LineConn } from '../proto/line-conn.ts';
import { personaFacts } from '../personas/facts.ts';
import { accountMatches, parseAccounts } from '../mail/accounts.ts';
import { fqdnFor, mailDomainFor } from '../mail/domain.ts';
import { summarizeMessage } from '../mail/message.ts';
import { LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT, decodeLoginLine, decodePlain } from '../mail/sasl.ts';

const MAX_LINE = 16 * 1024;
const MAX_COMMAND = 2048;
const MAX_RECIPIENTS = 100;
const HARD_ERROR_LIMIT = 20;
const LOCAL_USERS = new Set(['root', 'postmaster', 'admin', 'administrator', 'info', 'webmaster', 'abuse', 'hostmaster', 'mail', 'support', 'sales', 'contact', 'noreply']);

interface SmtpConfig {
  greeting: string;
  hostname: string;
  domain: string;
  openRelay: boolean;
  accounts: Map<string, string>;
  maxMessage: number;
}

function readConfig(ctx: ServiceContext): SmtpConfig {
  const persona = ctx.decky.persona;
  const facts = personaFacts(persona);
  const domain = mailDomainFor(persona, ctx.config.domain ?? 'auto');
  const hostname = fqdnFor(persona, domain);
  const banner = (ctx.config.banner ?? 'auto').trim();
  const relay = (ctx.config.relay ?? 'open').toLowerCase();
  if (relay !== 'open' && relay !== 'closed') throw new Error(`smtp relay must be open or closed, got ${JSON.stringify(ctx.config.relay)}`);
  const maxMessage = Number(ctx.config.max_message ?? '10240000');
  if (!Number.isInteger(maxMessage) || maxMessage < 1024 || maxMessage > 100 * 1024 * 1024) throw new Error(`smtp max_message must be a byte count 1024..104857600, got ${JSON.stringify(ctx.config.max_message)}`);
  return {
    greeting: banner === '' || banner === 'auto' ? defaultGreeting(hostname, facts) : banner.replace(/[\r\n]/g, ' ').slice(0, 200),
    hostname,
    domain,
    openRelay: relay === 'open',
    accounts: parseAccounts(ctx.config.users ?? '', 'smtp'),
    maxMessage,
  };
}

function defaultGreeting(hostname: string, facts: ReturnType<typeof personaFacts>): string {
  if (facts.windows) return `${hostname} ${facts.smtp}, Version: ${facts.windows.version}.1 ready at  ${new Date().toUTCString().replace('GMT', '+0000')}`;
  return `${hostname} ESMTP ${facts.smtp}`;
}

/** The address inside `FROM:<addr> PARAMS` / `TO:<addr>`; null on syntax error. */
function parsePath(arg: string, keyword: 'FROM' | 'TO'): { address: string; params: string } | null {
  const m = new RegExp(`^${keyword}:\\s*(<[^<>]{0,320}>|[^\\s<>]{1,320})(?:\\s+(.*))?$`, 'i').exec(arg.trim());
  if (!m) return null;
  const address = m[1]!.replace(/^<|>$/g, '');
  if (address !== '' && !/^[^\s@"]{1,64}@[A-Za-z0-9.\-[\]:]{1,255}$|^[A-Za-z0-9._%+-]{1,64}$|^"[^"]{1,64}"@[A-Za-z0-9.\-]{1,255}$/.test(address)) return null;
  return { address, params: (m[2] ?? '').slice(0, 256) };
}

function queueId(): string {
  return randomBytes(6).toString('hex').toUpperCase().slice(0, 11);
}

class SmtpSession {
  private readonly conn: LineConn;
  private readonly session: Session;
  private readonly ctx: ServiceContext;
  private readonly cfg: SmtpConfig;
  private readonly raw: Socket;
  private readonly context: (() => Promise<import('node:tls').SecureContext>) | null;
  private helo = '';
  private heloVerb = '';
  private tls = false;
  private user = '';
  private from: string | null = null;
  private rcpts: string[] = [];
  private errors = 0;

  constructor(raw: Socket, stream: import('node:stream').Duplex, tls: boolean, session: Session, ctx: ServiceContext, cfg: SmtpConfig, context: (() => Promise<import('node:tls').SecureContext>) | null) {
    this.raw = raw;
    this.session = session;
    this.ctx = ctx;
    this.cfg = cfg;
    this.tls = tls;
    this.context = context;
    this.conn = new LineConn(stream, { maxLine: MAX_LINE });
  }

  private reply(text: string): void {
    this.conn.write(`${text}\r\n`);
  }

  /** Counts an error reply; false when the hard error limit closes the session. */
  private error(text: string): boolean {
    this.reply(text);
    if (++this.errors >= HARD_ERROR_LIMIT) {
      this.conn.end(`421 4.7.0 ${this.cfg.hostname} Error: too many errors\r\n`);
      return false;
    }
    return true;
  }

  async run(): Promise<void> {
    this.reply(`220 ${this.cfg.greeting}`);
    for (;;) {
      const line = await this.conn.readLine();
      if (line === null) return;
      if (line.overlong || line.raw.length > MAX_COMMAND) {
        this.session.record('command', { cmd: printableVerb(line.text), overlong: true });
        if (!this.error('500 5.5.2 Error: line too long')) return;
        continue;
      }
      if (!(await this.dispatch(line.text))) return;
    }
  }

  private resetTransaction(): void {
    this.from = null;
    this.rcpts = [];
  }

  private async dispatch(text: string): Promise<boolean> {
    const trimmed = text.trim();
    const space = trimmed.search(/\s/);
    const verb = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase();
    const arg = space === -1 ? '' : trimmed.slice(space + 1).trim();
    if (verb !== 'AUTH') this.session.record('command', { cmd: printableVerb(verb), arg: arg.slice(0, 512) || undefined, tls: this.tls || undefined });

    switch (verb) {
      case 'HELO':
      case 'EHLO': {
        if (!arg) return this.error(`501 Syntax: ${verb} hostname`);
        this.helo = arg.slice(0, 255);
        this.heloVerb = verb;
        this.resetTransaction();
        if (verb === 'HELO') {
          this.reply(`250 ${this.cfg.hostname}`);
          return true;
        }
        const caps = ['PIPELINING', `SIZE ${this.cfg.maxMessage}`, 'VRFY', 'ETRN', ...(this.tls || !this.context ? [] : ['STARTTLS']), 'AUTH PLAIN LOGIN', 'AUTH=PLAIN LOGIN', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8'];
        this.conn.write([this.cfg.hostname, ...caps].map((c, i, all) => `250${i === all.length - 1 ? ' ' : '-'}${c}\r\n`).join(''));
        return true;
      }
      case 'STARTTLS':
        return this.startTls();
      case 'AUTH':
        return this.auth(arg);
      case 'MAIL': {
        if (!this.helo) return this.error('503 5.5.1 Error: send HELO/EHLO first');
        if (this.from !== null) return this.error('503 5.5.1 Error: nested MAIL command');
        const p = parsePath(arg, 'FROM');
        if (!p) return this.error('501 5.1.7 Bad sender address syntax');
        const size = /\bSIZE=(\d{1,12})/i.exec(p.params)?.[1];
        if (size && Number(size) > this.cfg.maxMessage) return this.error('552 5.3.4 Message size exceeds fixed limit');
        this.from = p.address;
        this.reply('250 2.1.0 Ok');
        return true;
      }
      case 'RCPT': {
        if (this.from === null) return this.error('503 5.5.1 Error: need MAIL command');
        const p = parsePath(arg, 'TO');
        if (!p || p.address === '') return this.error('501 5.1.3 Bad recipient address syntax');
        if (this.rcpts.length >= MAX_RECIPIENTS) return this.error('452 4.5.3 Error: too many recipients');
        const domain = p.address.includes('@') ? p.address.slice(p.address.lastIndexOf('@') + 1).toLowerCase() : this.cfg.domain;
        const local = domain === this.cfg.domain || domain === this.cfg.hostname || domain === 'localhost' || domain === `[${this.ctx.decky.ip}]`;
        if (!local) {
          this.session.record('relay_attempt', { from: this.from.slice(0, 320), rcpt: p.address.slice(0, 320), helo: this.helo, user: this.user || undefined, accepted: this.cfg.openRelay || this.user !== '' });
          if (!this.cfg.openRelay && !this.user) return this.error(`554 5.7.1 <${p.address}>: Relay access denied`);
        }
        this.rcpts.push(p.address.slice(0, 320));
        this.reply('250 2.1.5 Ok');
        return true;
      }
      case 'DATA':
        if (!this.helo) return this.error('503 5.5.1 Error: send HELO/EHLO first');
        if (this.from === null) return this.error('503 5.5.1 Error: need RCPT command');
        if (this.rcpts.length === 0) return this.error('554 5.5.1 Error: no valid recipients');
        return this.data();
      case 'RSET':
        this.resetTransaction();
        this.reply('250 2.0.0 Ok');
        return true;
      case 'NOOP':
        this.reply('250 2.0.0 Ok');
        return true;
      case 'QUIT':
        this.conn.end('221 2.0.0 Bye\r\n');
        return false;
      case 'VRFY': {
        const who = arg.replace(/^<|>$/g, '');
        const localPart = who.split('@')[0]!.toLowerCase();
        if (!who) return this.error('501 5.5.4 Syntax: VRFY address');
        if (LOCAL_USERS.has(localPart)) this.reply(`252 2.0.0 ${who}`);
        else return this.error(`550 5.1.1 <${who}>: Recipient address rejected: User unknown in local recipient table`);
        return true;
      }
      case 'ETRN':
        if (!this.helo) return this.error('503 5.5.1 Error: send HELO/EHLO first');
        this.reply('458 Unable to queue messages for node ' + (arg.slice(0, 64) || '?'));
        return true;
      default:
        return this.error('502 5.5.2 Error: command not recognized');
    }
  }

  private async startTls(): Promise<boolean> {
    if (this.tls) return this.error('554 5.5.1 Error: TLS already active');
    if (!this.context) return this.error('502 5.5.2 Error: command not recognized');
    this.reply('220 2.0.0 Ready to start TLS');
    const leftover = this.conn.detach();
    if (leftover.length > 0) {
      // Commands pipelined after STARTTLS must not be executed inside the TLS session (CVE-2011-0411 class).
      this.session.record('payload', { reason: 'data after STARTTLS discarded', bytes: leftover.length });
    }
    const { acceptTls } = await import('../tls-server.ts');
    const secure = await acceptTls(this.raw, { session: this.session, context: this.context, via: 'starttls', log: this.ctx.log });
    if (!secure) return false;
    this.tls = true;
    this.helo = '';
    this.user = '';
    this.resetTransaction();
    this.conn.attach(secure);
    return true;
  }

  private async readAuthLine(): Promise<string | null> {
    const line = await this.conn.readLine();
    if (line === null) return null;
    return line.text.trim();
  }

  private async auth(arg: string): Promise<boolean> {
    const [mechRaw = '', initial] = arg.split(/\s+/, 2);
    const mech = mechRaw.toUpperCase();
    this.session.record('command', { cmd: 'AUTH', arg: mech.slice(0, 32) || undefined, tls: this.tls || undefined });
    if (!this.helo) return this.error('503 5.5.1 Error: send HELO/EHLO first');
    if (this.user) return this.error('503 5.5.1 Error: already authenticated');
    if (this.from !== null) return this.error('503 5.5.1 Error: MAIL transaction in progress');
    let username = '';
    let password: Buffer = Buffer.alloc(0);
    let authzid = '';
    if (mech === 'PLAIN') {
      let response = initial;
      if (response === undefined) {
        this.reply('334 ');
        const l = await this.readAuthLine();
        if (l === null) return false;
        response = l;
      }
      if (response === '*') return this.error('501 5.7.0 Authentication aborted');
      const creds = decodePlain(response);
      if (!creds) return this.error('501 5.5.2 Cannot decode response');
      ({ authzid, username, password } = creds);
    } else if (mech === 'LOGIN') {
      let userB64 = initial;
      if (userB64 === undefined) {
        this.reply(`334 ${LOGIN_USERNAME_PROMPT}`);
        const l = await this.readAuthLine();
        if (l === null) return false;
        userB64 = l;
      }
      if (userB64 === '*') return this.error('501 5.7.0 Authentication aborted');
      const user = decodeLoginLine(userB64);
      if (!user) return this.error('501 5.5.2 Cannot decode response');
      username = user.toString('utf8').slice(0, 256);
      this.reply(`334 ${LOGIN_PASSWORD_PROMPT}`);
      const l = await this.readAuthLine();
      if (l === null) return false;
      if (l === '*') return this.error('501 5.7.0 Authentication aborted');
      const pass = decodeLoginLine(l);
      if (!pass) return this.error('501 5.5.2 Cannot decode response');
      password = pass;
    } else if (mech === '') {
      return this.error('501 5.5.4 Syntax: AUTH mechanism');
    } else {
      return this.error('535 5.7.8 Error: authentication failed: Invalid authentication mechanism');
    }
    const success = accountMatches(this.cfg.accounts, username, password.toString('utf8'));
    this.session.record(
      'auth_attempt',
      { username, auth_method: mech, success, authzid: authzid && authzid !== username ? authzid : undefined, tls: this.tls || undefined, secret_kind: 'plaintext' },
      { secret: password },
    );
    if (success) {
      this.user = username;
      this.reply('235 2.7.0 Authentication successful');
      return true;
    }
    return this.error('535 5.7.8 Error: authentication failed: authentication failure');
  }

  private async data(): Promise<boolean> {
    this.reply('354 End data with <CR><LF>.<CR><LF>');
    const id = queueId();
    const rcpts = this.rcpts;
    const received = `Received: from ${this.helo.replace(/[^\x21-\x7e]/g, '?')} (unknown [${this.session.peer.srcIp}])\r\n\tby ${this.cfg.hostname} (Postfix) with ${this.heloVerb === 'EHLO' ? 'E' : ''}SMTP${this.tls ? 'S' : ''}${this.user ? 'A' : ''} id ${id}\r\n\tfor <${rcpts[0]}>; ${new Date().toUTCString().replace('GMT', '+0000 (UTC)')}\r\n`;
    const chunks: Buffer[] = [Buffer.from(received)];
    let size = 0;
    let overflow = false;
    let continuing = false;
    for (;;) {
      const line = await this.conn.readLine({ split: true });
      if (line === null) return false; // client vanished mid-message: nothing is accepted, like Postfix
      if (!continuing && !line.partial && line.raw.length === 1 && line.raw[0] === 0x2e) break;
      let raw = line.raw;
      if (!continuing && raw[0] === 0x2e) raw = raw.subarray(1); // dot-unstuffing
      const piece = line.partial ? raw : Buffer.concat([raw, Buffer.from('\r\n')]);
      continuing = line.partial === true;
      size += piece.length;
      if (size > this.cfg.maxMessage) overflow = true;
      else chunks.push(piece);
    }
    const from = this.from ?? '';
    this.resetTransaction();
    if (overflow) {
      this.session.record('mail', { from: from.slice(0, 320), rcpt: rcpts.join(',').slice(0, 2048), rcpt_count: rcpts.length, size, rejected: 'size limit' });
      return this.error('552 5.3.4 Message size exceeds fixed limit');
    }
    const message = Buffer.concat(chunks);
    const summary = summarizeMessage(message.subarray(received.length));
    const q = await this.ctx.quarantine('smtp', `${id}.eml`, message, this.cfg.maxMessage + received.length);
    const sha256 = q.sha256 || createHash('sha256').update(message).digest('hex');
    this.session.record('mail', {
      from: from.slice(0, 320),
      rcpt: rcpts.join(',').slice(0, 2048),
      rcpt_count: rcpts.length,
      size: message.length,
      sha256,
      subject: summary.subject,
      from_hdr: summary.from,
      to_hdr: summary.to?.slice(0, 512),
      message_id: summary.messageId,
      x_mailer: summary.xMailer,
      attachments: summary.attachments,
      attachment_names: summary.attachmentNames.length ? summary.attachmentNames.join(',').slice(0, 512) : undefined,
      urls: summary.urls,
      first_urls: summary.firstUrls.length ? summary.firstUrls.join(' ').slice(0, 1024) : undefined,
      helo: this.helo,
      user: this.user || undefined,
      tls: this.tls || undefined,
      queue_id: id,
      file_truncated: q.truncated,
      stored: q.stored ?? q.path !== '',
      quarantine_path: q.path || undefined,
    });
    this.reply(`250 2.0.0 Ok: queued as ${id}`);
    return true;
  }
}

function printableVerb(s: string): string {
  return s.slice(0, 16).replace(/[^\x21-\x7e]/g, '?');
}

const smtp: DecoyService = {
  name: 'smtp',
  summary: 'Postfix-like mail server (AUTH capture, open-relay bait)',
  listens: [
    { port: 25, transport: 'tcp' },
    { port: 587, transport: 'tcp' },
  ],
  personaKeys: {
    banner: { summary: "220 greeting after the code: 'auto' gives '<fqdn> ESMTP Postfix (<distro>)'", default: 'auto' },
    domain: { summary: "mail domain: 'auto' derives it from the hostname", default: 'auto' },
    relay: { summary: "'open' accepts mail for any domain (relay bait, nothing is delivered); 'closed' answers Relay access denied", default: 'open', choices: ['open', 'closed'] },
    users: { summary: 'accounts whose AUTH succeeds, as user:password pairs separated by commas (default none)', default: '' },
    max_message: { summary: 'largest accepted message in bytes (Postfix message_size_limit)', default: '10240000' },
  },
  create(ctx) {
    const cfg = readConfig(ctx);
    let context: (() => Promise<import('node:tls').SecureContext>) | null = null;
    const tlsContext = async (): Promise<() => Promise<import('node:tls').SecureContext>> => {
      if (!context) context = (await import('../tls-server.ts')).secureContextProvider(ctx);
      return context;
    };
    const start = async (socket: Socket, session: Session, listen: Listen): Promise<void> => {
      const provider = await tlsContext();
      let stream: import('node:stream').Duplex = socket;
      if (listen.tls) {
        const { acceptTls } = await import('../tls-server.ts');
        const secure = await acceptTls(socket, { session, context: provider, via: 'implicit', log: ctx.log });
        if (!secure) return;
        stream = secure;
      }
      await new SmtpSession(socket, stream, listen.tls === true, session, ctx, cfg, provider).run();
    };
    return {
      onConnection(socket, session, listen) {
        start(socket, session, listen).catch((err: unknown) => {
          ctx.log.warn('smtp session failed', { err });
          socket.destroy();
        });
      },
    };
  },
};

export default smtp;
