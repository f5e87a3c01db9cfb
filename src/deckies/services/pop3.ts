// POP3 decoy in the manner of Dovecot (110 with STLS, 995 implicit TLS): captures USER/PASS, APOP digests
// (the greeting carries a challenge) and SASL PLAIN/LOGIN; a configured weak account opens the bait
// mailbox, which can be listed, read and marked for deletion within the session.
import { randomBytes, createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { ServiceContext, Session } from '../service.ts';
import { LineConn } from '../proto/line-conn.ts';
import { accountMatches, localPart } from '../mail/accounts.ts';
import { baitMailbox, dotStuff, type BaitMessage } from '../mail/bait-mailbox.ts';
import type { MailStoreConfig } from '../mail/dovecot.ts';
import { mailboxService } from '../mail/mailbox-service.ts';
import { LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT, decodeLoginLine, decodePlain } from '../mail/sasl.ts';

const MAX_LINE = 4096;
const AUTH_FAIL_DELAY_MS = 1000;
const MAX_AUTH_FAILURES = 5;
const MAX_BAD_COMMANDS = 20;

class Pop3Session {
  private readonly conn: LineConn;
  private readonly raw: Socket;
  private readonly session: Session;
  private readonly ctx: ServiceContext;
  private readonly cfg: MailStoreConfig;
  private readonly context: () => Promise<SecureContext>;
  private tls: boolean;
  private readonly challenge: string;
  private user = '';
  private mailbox: BaitMessage[] | null = null;
  private deleted = new Set<number>();
  private authFailures = 0;
  private badCommands = 0;

  constructor(raw: Socket, stream: Duplex, tls: boolean, session: Session, ctx: ServiceContext, cfg: MailStoreConfig, context: () => Promise<SecureContext>) {
    this.raw = raw;
    this.session = session;
    this.ctx = ctx;
    this.cfg = cfg;
    this.context = context;
    this.tls = tls;
    this.challenge = `<${randomBytes(8).toString('hex')}.${Math.floor(Date.now() / 1000)}@${cfg.hostname}>`;
    this.conn = new LineConn(stream, { maxLine: MAX_LINE });
  }

  private ok(text: string): void {
    this.conn.write(`+OK${text ? ` ${text}` : ''}\r\n`);
  }

  private err(text: string): boolean {
    this.conn.write(`-ERR ${text}\r\n`);
    if (++this.badCommands >= MAX_BAD_COMMANDS) {
      this.conn.end('-ERR Too many invalid commands.\r\n');
      return false;
    }
    return true;
  }

  async run(): Promise<void> {
    this.ok(`${this.cfg.greeting} ${this.challenge}`);
    for (;;) {
      const line = await this.conn.readLine();
      if (line === null) return;
      if (line.overlong) {
        this.session.record('command', { cmd: line.text.slice(0, 16).replace(/[^\x21-\x7e]/g, '?'), overlong: true });
        if (!this.err('Input line too long.')) return;
        continue;
      }
      if (!(await this.dispatch(line.text))) return;
    }
  }

  private async dispatch(text: string): Promise<boolean> {
    const trimmed = text.trim();
    const space = trimmed.indexOf(' ');
    const verb = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase();
    const arg = space === -1 ? '' : trimmed.slice(space + 1);
    const secretArg = verb === 'PASS' || verb === 'APOP' || verb === 'AUTH';
    this.session.record('command', {
      cmd: verb.slice(0, 16).replace(/[^\x21-\x7e]/g, '?'),
      arg: secretArg ? (verb === 'PASS' ? undefined : arg.split(' ')[0]!.slice(0, 64)) : arg.slice(0, 256) || undefined,
      state: this.mailbox ? 'transaction' : 'authorization',
      tls: this.tls || undefined,
    });

    switch (verb) {
      case 'CAPA':
        this.conn.write(`+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n${this.tls || this.mailbox ? '' : 'STLS\r\n'}${this.mailbox ? '' : 'USER\r\nSASL PLAIN LOGIN\r\n'}.\r\n`);
        return true;
      case 'QUIT':
        this.conn.end(`+OK Logging out${this.deleted.size > 0 ? ', messages deleted' : ''}.\r\n`);
        return false;
      case 'NOOP':
        if (!this.mailbox) return this.err('Unknown command.');
        this.ok('');
        return true;
    }
    if (!this.mailbox) return this.authorization(verb, arg);
    return this.transaction(verb, arg);
  }

  private async authorization(verb: string, arg: string): Promise<boolean> {
    switch (verb) {
      case 'STLS': {
        if (this.tls) return this.err('TLS is already active.');
        this.ok('Begin TLS negotiation now.');
        const leftover = this.conn.detach();
        if (leftover.length > 0) this.session.record('payload', { reason: 'data after STLS discarded', bytes: leftover.length });
        const { acceptTls } = await import('../tls-server.ts');
        const secure = await acceptTls(this.raw, { session: this.session, context: this.context, via: 'starttls', log: this.ctx.log });
        if (!secure) return false;
        this.tls = true;
        this.user = '';
        this.conn.attach(secure);
        return true;
      }
      case 'USER':
        if (!arg) return this.err('No username given.');
        this.user = arg.slice(0, 256);
        this.ok('');
        return true;
      case 'PASS': {
        if (!this.user) return this.err('No username given.');
        const user = this.user;
        this.user = '';
        return this.login(user, 'USER', Buffer.from(arg, 'utf8'), accountMatches(this.cfg.accounts, user, arg));
      }
      case 'APOP': {
        const [name = '', digest = ''] = arg.split(/\s+/);
        if (!name || !/^[0-9a-fA-F]{32}$/.test(digest)) return this.err('Invalid parameters.');
        const expected = this.cfg.accounts.get(localPart(name));
        const success = expected !== undefined && createHash('md5').update(this.challenge + expected).digest('hex') === digest.toLowerCase();
        return this.login(name.slice(0, 256), 'APOP', Buffer.from(digest.toLowerCase()), success, { challenge: this.challenge, secret_kind: 'apop_md5' });
      }
      case 'AUTH':
        return this.sasl(arg);
      default:
        return this.err('Unknown command.');
    }
  }

  private async sasl(arg: string): Promise<boolean> {
    const [mechRaw = '', initial] = arg.split(/\s+/, 2);
    const mech = mechRaw.toUpperCase();
    if (!mech) {
      // RFC 5034: AUTH without a mechanism lists them.
      this.conn.write('+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n');
      return true;
    }
    const next = async (prompt: string): Promise<string | null> => {
      this.conn.write(`+ ${prompt}\r\n`);
      const l = await this.conn.readLine();
      return l === null ? null : l.text.trim();
    };
    if (mech === 'PLAIN') {
      const response = initial ?? (await next(''));
      if (response === null) return false;
      if (response === '*') return this.err('Authentication aborted by client.');
      const creds = decodePlain(response);
      if (!creds) return this.err('[AUTH] Invalid base64 data in continued response');
      return this.login(creds.username, 'PLAIN', creds.password, accountMatches(this.cfg.accounts, creds.username, creds.password.toString('utf8')));
    }
    if (mech === 'LOGIN') {
      const u = initial ?? (await next(LOGIN_USERNAME_PROMPT));
      if (u === null) return false;
      if (u === '*') return this.err('Authentication aborted by client.');
      const p = await next(LOGIN_PASSWORD_PROMPT);
      if (p === null) return false;
      if (p === '*') return this.err('Authentication aborted by client.');
      const user = decodeLoginLine(u);
      const pass = decodeLoginLine(p);
      if (!user || !pass) return this.err('[AUTH] Invalid base64 data in continued response');
      const username = user.toString('utf8').slice(0, 256);
      return this.login(username, 'LOGIN', pass, accountMatches(this.cfg.accounts, username, pass.toString('utf8')));
    }
    return this.err('Unsupported authentication mechanism.');
  }

  private async login(username: string, method: string, secret: Buffer, success: boolean, extra: Record<string, string> = {}): Promise<boolean> {
    this.session.record('auth_attempt', { username, auth_method: method, success, tls: this.tls || undefined, secret_kind: 'plaintext', ...extra }, { secret });
    if (success) {
      this.mailbox = baitMailbox({ hostname: this.cfg.hostname, domain: this.cfg.domain, user: localPart(username), seed: this.cfg.seed });
      this.ok('Logged in.');
      return true;
    }
    await new Promise((r) => setTimeout(r, AUTH_FAIL_DELAY_MS).unref());
    this.conn.write('-ERR [AUTH] Authentication failed.\r\n');
    if (++this.authFailures >= MAX_AUTH_FAILURES) {
      this.conn.end('-ERR Disconnected for inactivity during authentication.\r\n');
      return false;
    }
    return true;
  }

  /** 1-based message number → message, unless deleted. */
  private message(arg: string): BaitMessage | null {
    if (!/^\d{1,6}$/.test(arg)) return null;
    const n = Number(arg);
    const m = this.mailbox![n - 1];
    return m && !this.deleted.has(n) ? m : null;
  }

  private transaction(verb: string, arg: string): boolean {
    const box = this.mailbox!;
    const live = box.map((m, i) => [i + 1, m] as const).filter(([n]) => !this.deleted.has(n));
    switch (verb) {
      case 'STAT':
        this.ok(`${live.length} ${live.reduce((s, [, m]) => s + m.raw.length, 0)}`);
        return true;
      case 'LIST':
      case 'UIDL': {
        const render = (n: number, m: BaitMessage): string => `${n} ${verb === 'LIST' ? m.raw.length : createHash('md5').update(m.messageId).digest('hex').slice(0, 24)}`;
        if (arg) {
          const m = this.message(arg.trim());
          if (!m) return this.err('There is no such message.');
          this.ok(render(Number(arg.trim()), m));
          return true;
        }
        this.conn.write(`+OK${verb === 'LIST' ? ` ${live.length} messages:` : ''}\r\n${live.map(([n, m]) => `${render(n, m)}\r\n`).join('')}.\r\n`);
        return true;
      }
      case 'RETR':
      case 'TOP': {
        const [num = '', linesArg] = arg.split(/\s+/);
        const m = this.message(num);
        if (!m) return this.err('There is no such message.');
        let body = m.raw;
        if (verb === 'TOP') {
          if (linesArg === undefined || !/^\d{1,6}$/.test(linesArg)) return this.err('Invalid number of lines.');
          const keep = Number(linesArg);
          const bodyLines = m.raw.subarray(m.bodyOffset).toString('latin1').split('\r\n').slice(0, keep).join('\r\n');
          body = Buffer.concat([m.raw.subarray(0, m.bodyOffset), Buffer.from(bodyLines, 'latin1')]);
        }
        this.session.record('mail_read', { message: Number(num), uid: m.uid, subject: m.subject, command: verb });
        this.conn.write(Buffer.concat([Buffer.from(`+OK ${m.raw.length} octets\r\n`), dotStuff(body), Buffer.from('.\r\n')]));
        return true;
      }
      case 'DELE': {
        const m = this.message(arg.trim());
        if (!m) return this.err('There is no such message.');
        this.deleted.add(Number(arg.trim()));
        this.ok('Marked to be deleted.');
        return true;
      }
      case 'RSET':
        this.deleted.clear();
        this.ok('');
        return true;
      case 'USER':
      case 'PASS':
      case 'APOP':
      case 'AUTH':
      case 'STLS':
        return this.err('Unknown command.');
      default:
        return this.err(`Unknown command: ${verb.slice(0, 32).replace(/[^\x21-\x7e]/g, '?')}`);
    }
  }
}

const pop3 = mailboxService({
  name: 'pop3',
  summary: 'POP3 mailbox',
  plainPort: 110,
  tlsPort: 995,
  open: (socket, stream, tls, session, ctx, cfg, context) => new Pop3Session(socket, stream, tls, session, ctx, cfg, context),
});

export default pop3;
