// IMAP decoy in the manner of Dovecot (143 with STARTTLS, 993 implicit TLS): an IMAP4rev1 state machine
// (not authenticated → authenticated → selected) that captures LOGIN and AUTHENTICATE PLAIN/LOGIN, and opens
// the bait mailbox for configured weak accounts: LIST/STATUS/SELECT, FETCH (flags, envelope, structure,
// body sections with partials), SEARCH, STORE, EXPUNGE, IDLE. Literals are bounded; nothing is delivered.
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { ServiceContext, Session } from '../service.ts';
import { LineConn } from '../proto/line-conn.ts';
import { accountMatches, localPart } from '../mail/accounts.ts';
import { baitMailbox, type BaitMessage } from '../mail/bait-mailbox.ts';
import type { MailStoreConfig } from '../mail/dovecot.ts';
import { mailboxService } from '../mail/mailbox-service.ts';
import { parseHeaders } from '../mail/message.ts';
import { LOGIN_PASSWORD_PROMPT, LOGIN_USERNAME_PROMPT, decodeLoginLine, decodePlain } from '../mail/sasl.ts';
import { ImapSyntaxError, astring, imapString, sequenceSet, tokenize, type Segments, type Token } from '../mail/imap-syntax.ts';

const MAX_LINE = 8192;
const MAX_LITERAL = 1024 * 1024;
const MAX_LITERALS_PER_COMMAND = 16;
const AUTH_FAIL_DELAY_MS = 1000;
const MAX_AUTH_FAILURES = 5;
const MAX_BAD_COMMANDS = 20;

const PRE_CAPS = 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+';
const POST_CAPS =
  'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY SPECIAL-USE';
const MAILBOXES: ReadonlyArray<readonly [string, string]> = [
  ['INBOX', '\\HasNoChildren'],
  ['Drafts', '\\HasNoChildren \\Drafts'],
  ['Sent', '\\HasNoChildren \\Sent'],
  ['Junk', '\\HasNoChildren \\Junk'],
  ['Trash', '\\HasNoChildren \\Trash'],
];
const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface Entry {
  msg: BaitMessage;
  flags: Set<string>;
}

type Command = { tag: string; name: string; args: Token[]; text: string };

function internalDate(ts: number): string {
  const d = new Date(ts);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `"${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000"`;
}

function address(value: string | undefined): string {
  if (!value) return 'NIL';
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(value);
  const name = m ? m[1]!.trim() : '';
  const addr = m ? m[2]! : value.trim();
  const at = addr.lastIndexOf('@');
  const mailbox = at === -1 ? addr : addr.slice(0, at);
  const host = at === -1 ? '' : addr.slice(at + 1);
  return `((${name ? imapString(name) : 'NIL'} NIL ${imapString(mailbox)} ${imapString(host)}))`;
}

function timing(): string {
  return `(0.00${1 + Math.floor(Math.random() * 9)} + 0.000 secs).`;
}

/** Header lines (folded as stored) whose names are / are not in `names`, plus the closing blank line. */
function headerFields(header: string, names: Set<string>, include: boolean): string {
  const fields: string[] = [];
  for (const line of header.split('\r\n')) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) {
      fields[fields.length - 1] += `\r\n${line}`;
      continue;
    }
    fields.push(line);
  }
  const kept = fields.filter((f) => names.has(f.slice(0, f.indexOf(':')).trim().toUpperCase()) === include);
  return kept.map((f) => `${f}\r\n`).join('') + '\r\n';
}

class ImapSession {
  private readonly conn: LineConn;
  private readonly raw: Socket;
  private readonly session: Session;
  private readonly ctx: ServiceContext;
  private readonly cfg: MailStoreConfig;
  private readonly context: () => Promise<SecureContext>;
  private tls: boolean;
  private user = '';
  private inbox: Entry[] = [];
  private selected: string | null = null;
  private readOnly = false;
  private authFailures = 0;
  private badCommands = 0;
  private readonly uidValidity: number;

  constructor(raw: Socket, stream: Duplex, tls: boolean, session: Session, ctx: ServiceContext, cfg: MailStoreConfig, context: () => Promise<SecureContext>) {
    this.raw = raw;
    this.session = session;
    this.ctx = ctx;
    this.cfg = cfg;
    this.context = context;
    this.tls = tls;
    this.uidValidity = 1_600_000_000 + (cfg.seed % 80_000_000);
    this.conn = new LineConn(stream, { maxLine: MAX_LINE, maxBuffered: MAX_LITERAL + 2 * MAX_LINE });
  }

  private w(text: string | Buffer): void {
    this.conn.write(text);
  }

  private caps(): string {
    if (this.user) return POST_CAPS;
    return `${PRE_CAPS}${this.tls ? '' : ' STARTTLS'} AUTH=PLAIN AUTH=LOGIN`;
  }

  private bad(tag: string, text: string): boolean {
    this.w(`${tag} BAD ${text}\r\n`);
    if (++this.badCommands >= MAX_BAD_COMMANDS) {
      this.conn.end('* BYE Too many invalid IMAP commands.\r\n');
      return false;
    }
    return true;
  }

  async run(): Promise<void> {
    this.w(`* OK [CAPABILITY ${this.caps()}] ${this.cfg.greeting}\r\n`);
    for (;;) {
      const segments = await this.readCommand();
      if (segments === null) return;
      if (segments === 'overlong') {
        if (!this.bad('*', 'Error in IMAP command received by server: line too long.')) return;
        continue;
      }
      let tokens: Token[];
      try {
        tokens = tokenize(segments);
      } catch (err) {
        const tag = /^([^\s(){%*"\\\]]{1,64}) /.exec(typeof segments[0] === 'string' ? segments[0] : '')?.[1] ?? '*';
        this.session.record('command', { cmd: 'INVALID', arg: typeof segments[0] === 'string' ? segments[0].slice(0, 256) : undefined, error: err instanceof ImapSyntaxError ? err.message : 'parse error' });
        if (!this.bad(tag, 'Error in IMAP command received by server.')) return;
        continue;
      }
      const tag = tokens[0]?.t === 'atom' ? tokens[0].v : '';
      const name = tokens[1]?.t === 'atom' ? tokens[1].v.toUpperCase() : '';
      // RFC 3501 tag: ASTRING-CHARs except '+' (printable ASCII without specials). Like Dovecot, a bad
      // command name after a usable tag is answered on that tag ("GET / HTTP/1.0" → "GET BAD …").
      const tagOk = /^[\x21-\x7e]{1,64}$/.test(tag) && !/[+*%(){"\\]/.test(tag);
      if (!tagOk || !/^[A-Za-z.]{1,32}$/.test(name)) {
        this.session.record('command', { cmd: 'INVALID', arg: (typeof segments[0] === 'string' ? segments[0] : '').slice(0, 256) });
        if (!this.bad(tagOk ? tag : '*', 'Error in IMAP command received by server.')) return;
        continue;
      }
      const text = segments.map((s) => (typeof s === 'string' ? s : `{${s.length}}`)).join('');
      if (!(await this.dispatch({ tag, name, args: tokens.slice(2), text }))) return;
    }
  }

  /** A command line with its literals read in (sending "+ OK" for synchronizing ones). */
  private async readCommand(): Promise<Segments | null | 'overlong'> {
    const segments: Segments = [];
    let literals = 0;
    for (;;) {
      const line = await this.conn.readLine();
      if (line === null) return null;
      if (line.overlong) return 'overlong';
      const m = /\{(\d{1,10})(\+)?\}$/.exec(line.text);
      if (!m) {
        segments.push(line.text);
        return segments;
      }
      const n = Number(m[1]);
      segments.push(line.text.slice(0, m.index));
      if (n > MAX_LITERAL || ++literals > MAX_LITERALS_PER_COMMAND) {
        this.session.record('command', { cmd: 'LITERAL', arg: line.text.slice(0, 128), error: 'literal too large' });
        // A non-synchronizing literal is already on its way; the only safe answer is to hang up.
        this.conn.end('* BYE [TOOBIG] Literal too large.\r\n');
        return null;
      }
      if (!m[2]) this.w('+ OK\r\n');
      const data = await this.conn.readBytes(n);
      if (data === null) return null;
      segments.push(data);
    }
  }

  private async dispatch(c: Command): Promise<boolean> {
    const secret = c.name === 'LOGIN' || c.name === 'AUTHENTICATE';
    this.session.record('command', {
      cmd: c.name.slice(0, 32).replace(/[^\x21-\x7e]/g, '?'),
      arg: secret ? (c.name === 'AUTHENTICATE' ? astring(c.args[0])?.slice(0, 32) : undefined) : c.text.slice(c.text.indexOf(' ', c.tag.length + 1) + 1 || c.text.length).slice(0, 512) || undefined,
      state: this.selected ? 'selected' : this.user ? 'authenticated' : 'not_authenticated',
      tls: this.tls || undefined,
    });
    try {
      return await this.execute(c);
    } catch (err) {
      if (err instanceof ImapSyntaxError) return this.bad(c.tag, `Error in IMAP command ${c.name}: ${err.message}`);
      throw err;
    }
  }

  private async execute(c: Command): Promise<boolean> {
    const { tag, name, args } = c;
    switch (name) {
      case 'CAPABILITY':
        this.w(`* CAPABILITY ${this.caps()}\r\n${tag} OK ${this.user ? 'Capability completed.' : 'Pre-login capabilities listed, post-login capabilities have more.'}\r\n`);
        return true;
      case 'NOOP':
      case 'CHECK':
        this.w(`${tag} OK ${name === 'NOOP' ? 'NOOP' : 'Check'} completed ${timing()}\r\n`);
        return true;
      case 'LOGOUT':
        this.conn.end(`* BYE Logging out\r\n${tag} OK Logout completed ${timing()}\r\n`);
        return false;
      case 'ID':
        this.w(`* ID ("name" "Dovecot")\r\n${tag} OK ID completed.\r\n`);
        return true;
      case 'ENABLE':
        if (!this.user) return this.bad(tag, 'Error in IMAP command ENABLE: Unknown command.');
        this.w(`* ENABLED\r\n${tag} OK Enabled.\r\n`);
        return true;
      case 'STARTTLS':
        return this.startTls(tag);
      case 'LOGIN': {
        if (this.user) return this.bad(tag, 'Error in IMAP command LOGIN: Unknown command.');
        const user = astring(args[0]);
        const pass = args[1];
        if (user === null || !pass || pass.t === 'list') return this.bad(tag, 'Error in IMAP command LOGIN: Missing arguments.');
        return this.login(tag, user.slice(0, 256), 'LOGIN', pass.t === 'string' ? pass.raw : Buffer.from(pass.v, 'utf8'));
      }
      case 'AUTHENTICATE':
        if (this.user) return this.bad(tag, 'Error in IMAP command AUTHENTICATE: Unknown command.');
        return this.authenticate(tag, args);
    }
    if (!this.user) return this.bad(tag, `Error in IMAP command ${name.slice(0, 32)}: Unknown command.`);

    switch (name) {
      case 'NAMESPACE':
        this.w(`* NAMESPACE (("" "/")) NIL NIL\r\n${tag} OK Namespace completed ${timing()}\r\n`);
        return true;
      case 'LIST':
      case 'LSUB':
      case 'XLIST':
        return this.list(tag, name, args);
      case 'STATUS':
        return this.status(tag, args);
      case 'SELECT':
      case 'EXAMINE':
        return this.select(tag, name, args);
      case 'CREATE':
      case 'DELETE':
      case 'RENAME':
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        const box = astring(args[0]);
        if (box === null) return this.bad(tag, `Error in IMAP command ${name}: Missing arguments.`);
        const exists = MAILBOXES.some(([m]) => m.toUpperCase() === box.toUpperCase());
        if (name === 'CREATE') this.w(exists ? `${tag} NO [ALREADYEXISTS] Mailbox already exists\r\n` : `${tag} OK Create completed ${timing()}\r\n`);
        else if (name === 'SUBSCRIBE' || name === 'UNSUBSCRIBE') this.w(`${tag} OK ${name === 'SUBSCRIBE' ? 'Subscribe' : 'Unsubscribe'} completed ${timing()}\r\n`);
        else if (box.toUpperCase() === 'INBOX') this.w(`${tag} NO INBOX can't be ${name === 'DELETE' ? 'deleted' : 'renamed'}.\r\n`);
        else this.w(exists ? `${tag} OK ${name === 'DELETE' ? 'Delete' : 'Rename'} completed ${timing()}\r\n` : `${tag} NO [NONEXISTENT] Mailbox doesn't exist: ${box.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}\r\n`);
        return true;
      }
      case 'APPEND':
        return this.append(tag, args);
      case 'IDLE':
        return this.idle(tag);
    }
    if (!this.selected) return this.bad(tag, `Error in IMAP command ${name.slice(0, 32)}: Unknown command.`);

    switch (name) {
      case 'CLOSE':
      case 'UNSELECT':
        if (name === 'CLOSE' && !this.readOnly) this.expunge(false);
        this.selected = null;
        this.w(`${tag} OK ${name === 'CLOSE' ? 'Close' : 'Unselect'} completed ${timing()}\r\n`);
        return true;
      case 'EXPUNGE':
        if (!this.readOnly) this.expunge(true);
        this.w(`${tag} OK Expunge completed ${timing()}\r\n`);
        return true;
      case 'FETCH':
        return this.fetch(tag, args, false);
      case 'STORE':
        return this.store(tag, args, false);
      case 'SEARCH':
        return this.search(tag, args, false);
      case 'COPY':
      case 'MOVE':
        this.w(`${tag} OK ${name === 'COPY' ? 'Copy' : 'Move'} completed ${timing()}\r\n`);
        return true;
      case 'UID': {
        const sub = args[0]?.t === 'atom' ? args[0].v.toUpperCase() : '';
        const rest = args.slice(1);
        if (sub === 'FETCH') return this.fetch(tag, rest, true);
        if (sub === 'STORE') return this.store(tag, rest, true);
        if (sub === 'SEARCH') return this.search(tag, rest, true);
        if (sub === 'COPY' || sub === 'MOVE' || sub === 'EXPUNGE') {
          this.w(`${tag} OK ${sub[0]}${sub.slice(1).toLowerCase()} completed ${timing()}\r\n`);
          return true;
        }
        return this.bad(tag, 'Error in IMAP command UID: Unknown command.');
      }
      default:
        return this.bad(tag, `Error in IMAP command ${name.slice(0, 32)}: Unknown command.`);
    }
  }

  private async startTls(tag: string): Promise<boolean> {
    if (this.tls) return this.bad(tag, 'TLS is already active.');
    this.w(`${tag} OK Begin TLS negotiation now.\r\n`);
    const leftover = this.conn.detach();
    if (leftover.length > 0) this.session.record('payload', { reason: 'data after STARTTLS discarded', bytes: leftover.length });
    const { acceptTls } = await import('../tls-server.ts');
    const secure = await acceptTls(this.raw, { session: this.session, context: this.context, via: 'starttls', log: this.ctx.log });
    if (!secure) return false;
    this.tls = true;
    this.conn.attach(secure);
    return true;
  }

  private async authenticate(tag: string, args: Token[]): Promise<boolean> {
    const mech = (astring(args[0]) ?? '').toUpperCase();
    const initial = astring(args[1]) ?? undefined;
    const next = async (prompt: string): Promise<string | null> => {
      this.w(`+ ${prompt}\r\n`);
      const l = await this.conn.readLine();
      return l === null ? null : l.text.trim();
    };
    if (mech === 'PLAIN') {
      const response = initial === '=' ? '' : (initial ?? (await next('')));
      if (response === null) return false;
      if (response === '*') return this.bad(tag, 'Authentication aborted by client.');
      const creds = decodePlain(response);
      if (!creds) return this.bad(tag, 'Invalid base64 data in continued response');
      return this.login(tag, creds.username, 'PLAIN', creds.password);
    }
    if (mech === 'LOGIN') {
      const u = initial ?? (await next(LOGIN_USERNAME_PROMPT));
      if (u === null) return false;
      if (u === '*') return this.bad(tag, 'Authentication aborted by client.');
      const p = await next(LOGIN_PASSWORD_PROMPT);
      if (p === null) return false;
      if (p === '*') return this.bad(tag, 'Authentication aborted by client.');
      const user = decodeLoginLine(u);
      const pass = decodeLoginLine(p);
      if (!user || !pass) return this.bad(tag, 'Invalid base64 data in continued response');
      return this.login(tag, user.toString('utf8').slice(0, 256), 'LOGIN', pass);
    }
    this.w(`${tag} NO Unsupported authentication mechanism.\r\n`);
    return true;
  }

  private async login(tag: string, username: string, method: string, password: Buffer): Promise<boolean> {
    const success = accountMatches(this.cfg.accounts, username, password.toString('utf8'));
    this.session.record('auth_attempt', { username, auth_method: method, success, tls: this.tls || undefined, secret_kind: 'plaintext' }, { secret: password });
    if (success) {
      this.user = localPart(username);
      this.inbox = baitMailbox({ hostname: this.cfg.hostname, domain: this.cfg.domain, user: this.user, seed: this.cfg.seed }).map((msg) => ({ msg, flags: new Set(msg.seen ? ['\\Seen'] : []) }));
      this.w(`${tag} OK [CAPABILITY ${POST_CAPS}] Logged in\r\n`);
      return true;
    }
    await new Promise((r) => setTimeout(r, AUTH_FAIL_DELAY_MS).unref());
    this.w(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`);
    if (++this.authFailures >= MAX_AUTH_FAILURES) {
      this.conn.end('* BYE Disconnected for inactivity during authentication.\r\n');
      return false;
    }
    return true;
  }

  private entries(box: string): Entry[] | null {
    if (box.toUpperCase() === 'INBOX') return this.inbox;
    return MAILBOXES.some(([m]) => m === box) ? [] : null;
  }

  private list(tag: string, name: string, args: Token[]): boolean {
    const ref = astring(args[0]);
    const pattern = astring(args[1]);
    if (ref === null || pattern === null) return this.bad(tag, `Error in IMAP command ${name}: Missing arguments.`);
    const verb = name === 'XLIST' ? 'XLIST' : name;
    if (pattern === '') {
      this.w(`* ${verb} (\\Noselect) "/" ""\r\n${tag} OK ${name[0]}${name.slice(1).toLowerCase()} completed ${timing()}\r\n`);
      return true;
    }
    const re = new RegExp(`^${(ref + pattern).slice(0, 200).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/%/g, '[^/]*')}$`, 'i');
    const lines = MAILBOXES.filter(([m]) => re.test(m)).map(([m, attrs]) => `* ${verb} (${name === 'LSUB' ? '' : attrs}) "/" ${m === 'INBOX' ? 'INBOX' : imapString(m)}\r\n`);
    this.w(`${lines.join('')}${tag} OK ${name === 'LSUB' ? 'Lsub' : 'List'} completed ${timing()}\r\n`);
    return true;
  }

  private status(tag: string, args: Token[]): boolean {
    const box = astring(args[0]);
    const items = args[1]?.t === 'list' ? args[1].v : null;
    if (box === null || !items) return this.bad(tag, 'Error in IMAP command STATUS: Missing arguments.');
    const list = this.entries(box);
    if (!list) {
      this.w(`${tag} NO [NONEXISTENT] Mailbox doesn't exist: ${box.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}\r\n`);
      return true;
    }
    const values: string[] = [];
    for (const it of items) {
      const k = astring(it)?.toUpperCase();
      if (k === 'MESSAGES') values.push(`MESSAGES ${list.length}`);
      else if (k === 'RECENT') values.push('RECENT 0');
      else if (k === 'UIDNEXT') values.push(`UIDNEXT ${(list.at(-1)?.msg.uid ?? 0) + 1}`);
      else if (k === 'UIDVALIDITY') values.push(`UIDVALIDITY ${this.uidValidity}`);
      else if (k === 'UNSEEN') values.push(`UNSEEN ${list.filter((e) => !e.flags.has('\\Seen')).length}`);
      else if (k === 'SIZE') values.push(`SIZE ${list.reduce((s, e) => s + e.msg.raw.length, 0)}`);
    }
    this.w(`* STATUS ${box.toUpperCase() === 'INBOX' ? 'INBOX' : imapString(box)} (${values.join(' ')})\r\n${tag} OK Status completed ${timing()}\r\n`);
    return true;
  }

  private select(tag: string, name: string, args: Token[]): boolean {
    const box = astring(args[0]);
    if (box === null) return this.bad(tag, `Error in IMAP command ${name}: Missing arguments.`);
    const list = this.entries(box);
    if (!list) {
      this.selected = null;
      this.w(`${tag} NO [NONEXISTENT] Mailbox doesn't exist: ${box.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}\r\n`);
      return true;
    }
    this.selected = box.toUpperCase() === 'INBOX' ? 'INBOX' : box;
    this.readOnly = name === 'EXAMINE';
    const firstUnseen = list.findIndex((e) => !e.flags.has('\\Seen'));
    this.w(
      `* FLAGS (${SYSTEM_FLAGS.join(' ')})\r\n* OK [PERMANENTFLAGS (${this.readOnly ? '' : `${SYSTEM_FLAGS.join(' ')} \\*`})] ${this.readOnly ? 'Read-only mailbox.' : 'Flags permitted.'}\r\n* ${list.length} EXISTS\r\n* 0 RECENT\r\n` +
        (firstUnseen >= 0 ? `* OK [UNSEEN ${firstUnseen + 1}] First unseen.\r\n` : '') +
        `* OK [UIDVALIDITY ${this.uidValidity}] UIDs valid\r\n* OK [UIDNEXT ${(list.at(-1)?.msg.uid ?? 0) + 1}] Predicted next UID\r\n${tag} OK [${this.readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${name === 'EXAMINE' ? 'Examine' : 'Select'} completed ${timing()}\r\n`,
    );
    return true;
  }

  private current(): Entry[] {
    return this.selected === 'INBOX' ? this.inbox : [];
  }

  /** Resolves a set to [seq, entry] pairs, by sequence number or by UID. */
  private resolve(set: string, byUid: boolean): Array<[number, Entry]> {
    const list = this.current();
    if (list.length === 0) {
      sequenceSet(set, 1); // still validate syntax
      return [];
    }
    if (!byUid) return sequenceSet(set, list.length).map((n) => [n, list[n - 1]!] as [number, Entry]);
    const maxUid = list.at(-1)!.msg.uid;
    const uids = new Set(sequenceSet(set, maxUid));
    return list.map((e, i) => [i + 1, e] as [number, Entry]).filter(([, e]) => uids.has(e.msg.uid));
  }

  private expunge(report: boolean): void {
    if (this.selected !== 'INBOX') return;
    for (let i = this.inbox.length - 1; i >= 0; i--) {
      if (this.inbox[i]!.flags.has('\\Deleted')) {
        this.inbox.splice(i, 1);
        if (report) this.w(`* ${i + 1} EXPUNGE\r\n`);
      }
    }
  }

  private fetch(tag: string, args: Token[], byUid: boolean): boolean {
    const set = astring(args[0]);
    const spec = args[1];
    if (set === null || !spec) return this.bad(tag, 'Error in IMAP command FETCH: Missing arguments.');
    let items: string[] = spec.t === 'list' ? spec.v.map((t) => astring(t) ?? '') : [spec.v];
    const macro = items.length === 1 ? items[0]!.toUpperCase() : '';
    if (macro === 'ALL') items = ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'];
    else if (macro === 'FAST') items = ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'];
    else if (macro === 'FULL') items = ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'];
    if (items.length === 0 || items.length > 64) return this.bad(tag, 'Error in IMAP command FETCH: Invalid arguments.');
    if (byUid && !items.some((i) => i.toUpperCase() === 'UID')) items.unshift('UID');

    for (const [seq, entry] of this.resolve(set, byUid)) {
      const parts: Buffer[] = [];
      let flagsRequested = false;
      let setSeen = false;
      let readBody = '';
      for (const item of items) {
        const upper = item.toUpperCase();
        const m = entry.msg;
        if (upper === 'FLAGS') {
          flagsRequested = true;
          parts.push(Buffer.from(`FLAGS (${[...entry.flags].join(' ')})`));
        } else if (upper === 'UID') parts.push(Buffer.from(`UID ${m.uid}`));
        else if (upper === 'INTERNALDATE') parts.push(Buffer.from(`INTERNALDATE ${internalDate(m.date)}`));
        else if (upper === 'RFC822.SIZE') parts.push(Buffer.from(`RFC822.SIZE ${m.raw.length}`));
        else if (upper === 'ENVELOPE') parts.push(Buffer.from(`ENVELOPE ${this.envelope(m)}`));
        else if (upper === 'BODYSTRUCTURE' || upper === 'BODY') parts.push(Buffer.from(`${upper} ${this.structure(m, upper === 'BODYSTRUCTURE')}`));
        else if (upper === 'RFC822' || upper === 'RFC822.HEADER' || upper === 'RFC822.TEXT') {
          const data = upper === 'RFC822' ? m.raw : upper === 'RFC822.HEADER' ? m.raw.subarray(0, m.bodyOffset) : m.raw.subarray(m.bodyOffset);
          parts.push(Buffer.concat([Buffer.from(`${upper} {${data.length}}\r\n`), data]));
          if (upper !== 'RFC822.HEADER') {
            setSeen = true;
            readBody ||= upper;
          }
        } else {
          const b = /^(BODY|BINARY)(\.PEEK)?\[([^\]]*)\](?:<(\d{1,10})(?:\.(\d{1,10}))?>)?$/i.exec(item);
          if (!b) return this.bad(tag, `Error in IMAP command FETCH: Unknown parameter ${item.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}`);
          const section = b[3]!.toUpperCase();
          let data = this.section(m, b[3]!);
          if (b[4] !== undefined) {
            const start = Number(b[4]);
            data = data.subarray(start, b[5] !== undefined ? start + Number(b[5]) : undefined);
          }
          const label = `${b[1]!.toUpperCase()}[${section.startsWith('HEADER.FIELDS') ? section.replace(/\s+/g, ' ') : section}]${b[4] !== undefined ? `<${b[4]}>` : ''}`;
          parts.push(Buffer.concat([Buffer.from(`${label} {${data.length}}\r\n`), data]));
          if (!b[2]) setSeen = true;
          if (section === '' || section === 'TEXT' || section === '1') readBody ||= label;
        }
      }
      if (setSeen && !this.readOnly && !entry.flags.has('\\Seen')) {
        entry.flags.add('\\Seen');
        if (!flagsRequested) parts.push(Buffer.from(`FLAGS (${[...entry.flags].join(' ')})`));
      }
      if (readBody) this.session.record('mail_read', { message: seq, uid: entry.msg.uid, subject: entry.msg.subject, command: readBody.slice(0, 64) });
      const out: Buffer[] = [Buffer.from(`* ${seq} FETCH (`)];
      parts.forEach((p, i) => out.push(...(i > 0 ? [Buffer.from(' '), p] : [p])));
      out.push(Buffer.from(')\r\n'));
      this.w(Buffer.concat(out));
    }
    this.w(`${tag} OK Fetch completed ${timing()}\r\n`);
    return true;
  }

  private section(m: BaitMessage, spec: string): Buffer {
    const upper = spec.toUpperCase().trim();
    const header = m.raw.subarray(0, m.bodyOffset);
    if (upper === '') return m.raw;
    if (upper === 'HEADER' || upper === '0') return header;
    if (upper === 'TEXT' || upper === '1' || upper === '1.TEXT') return m.raw.subarray(m.bodyOffset);
    if (upper === 'MIME' || upper === '1.MIME') return Buffer.from('Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n');
    const f = /^HEADER\.FIELDS(\.NOT)?\s*\(([^)]*)\)$/.exec(upper);
    if (f) {
      const names = new Set(f[2]!.split(/\s+/).filter(Boolean).slice(0, 100));
      return Buffer.from(headerFields(header.toString('latin1'), names, !f[1]), 'latin1');
    }
    return Buffer.alloc(0);
  }

  private envelope(m: BaitMessage): string {
    const h = parseHeaders(m.raw.subarray(0, m.bodyOffset).toString('latin1'));
    const from = address(h.get('from'));
    return `(${imapString(h.get('date'))} ${imapString(h.get('subject'))} ${from} ${from} ${from} ${address(h.get('to'))} NIL NIL NIL ${imapString(h.get('message-id'))})`;
  }

  private structure(m: BaitMessage, extended: boolean): string {
    const body = m.raw.subarray(m.bodyOffset);
    const lines = body.toString('latin1').split('\r\n').length - 1;
    return `("text" "plain" ("charset" "UTF-8") NIL NIL "8bit" ${body.length} ${lines}${extended ? ' NIL NIL NIL NIL' : ''})`;
  }

  private store(tag: string, args: Token[], byUid: boolean): boolean {
    const set = astring(args[0]);
    const op = astring(args[1])?.toUpperCase() ?? '';
    const flagTok = args[2];
    if (set === null || !/^[+-]?FLAGS(\.SILENT)?$/.test(op) || !flagTok) return this.bad(tag, 'Error in IMAP command STORE: Invalid arguments.');
    if (this.readOnly) {
      this.w(`${tag} NO Mailbox is read-only.\r\n`);
      return true;
    }
    const flags = (flagTok.t === 'list' ? flagTok.v.map((t) => astring(t) ?? '') : [flagTok.v]).filter((f) => /^\\?[\x21-\x7e]{1,64}$/.test(f)).slice(0, 32);
    const canonical = flags.map((f) => SYSTEM_FLAGS.find((s) => s.toUpperCase() === f.toUpperCase()) ?? f);
    for (const [seq, entry] of this.resolve(set, byUid)) {
      if (op.startsWith('+')) canonical.forEach((f) => entry.flags.size < 64 && entry.flags.add(f));
      else if (op.startsWith('-')) canonical.forEach((f) => entry.flags.delete(f));
      else entry.flags = new Set(canonical);
      if (!op.endsWith('.SILENT')) this.w(`* ${seq} FETCH (${byUid ? `UID ${entry.msg.uid} ` : ''}FLAGS (${[...entry.flags].join(' ')}))\r\n`);
    }
    this.w(`${tag} OK Store completed ${timing()}\r\n`);
    return true;
  }

  private search(tag: string, args: Token[], byUid: boolean): boolean {
    const list = this.current();
    const keys = astring(args[0])?.toUpperCase() === 'CHARSET' ? args.slice(2) : args;
    const body = (m: BaitMessage, all: boolean): string => (all ? m.raw : m.raw.subarray(m.bodyOffset)).toString('utf8').toLowerCase();
    const header = (m: BaitMessage, name: string): string => (parseHeaders(m.raw.subarray(0, m.bodyOffset).toString('latin1')).get(name) ?? '').toLowerCase();
    type Pred = (e: Entry, seq: number) => boolean;

    /** Parses every key of `toks` (ANDed); nested lists and NOT/OR recurse, bounded by depth. */
    const parseAll = (toks: Token[], depth: number): Pred => {
      if (depth > 16) throw new ImapSyntaxError('search nested too deeply');
      let i = 0;
      const arg = (key: string): string => {
        const a = astring(toks[i++]);
        if (a === null) throw new ImapSyntaxError(`missing argument for ${key}`);
        return a.toLowerCase();
      };
      const one = (d: number): Pred => {
        if (d > 16) throw new ImapSyntaxError('search nested too deeply');
        const tok = toks[i++];
        if (!tok) throw new ImapSyntaxError('missing search key');
        if (tok.t === 'list') return parseAll(tok.v, d + 1);
        const key = tok.v.toUpperCase();
        const flagKey = /^(UN)?(SEEN|DELETED|FLAGGED|ANSWERED|DRAFT)$/.exec(key);
        if (flagKey) {
          const flag = `\\${flagKey[2]![0]}${flagKey[2]!.slice(1).toLowerCase()}`;
          const neg = flagKey[1] !== undefined;
          return (e) => e.flags.has(flag) !== neg;
        }
        switch (key) {
          case 'ALL':
          case 'OLD':
            return () => true;
          case 'NEW':
          case 'RECENT':
            return () => false;
          case 'FROM':
          case 'TO':
          case 'CC':
          case 'BCC':
          case 'SUBJECT': {
            const v = arg(key);
            return (e) => header(e.msg, key.toLowerCase()).includes(v);
          }
          case 'BODY':
          case 'TEXT': {
            const v = arg(key);
            return (e) => body(e.msg, key === 'TEXT').includes(v);
          }
          case 'HEADER': {
            const name = arg(key);
            const v = arg(key);
            return (e) => header(e.msg, name).includes(v);
          }
          case 'KEYWORD':
          case 'UNKEYWORD': {
            const v = arg(key);
            return (e) => [...e.flags].some((f) => f.toLowerCase() === v) === (key === 'KEYWORD');
          }
          case 'LARGER':
          case 'SMALLER': {
            const n = Number(arg(key));
            if (!Number.isFinite(n)) throw new ImapSyntaxError(`invalid number for ${key}`);
            return (e) => (key === 'LARGER' ? e.msg.raw.length > n : e.msg.raw.length < n);
          }
          case 'SINCE':
          case 'BEFORE':
          case 'ON':
          case 'SENTSINCE':
          case 'SENTBEFORE':
          case 'SENTON': {
            const when = Date.parse(arg(key));
            if (Number.isNaN(when)) throw new ImapSyntaxError('invalid date');
            const day = when - (when % 86_400_000);
            if (key.endsWith('SINCE')) return (e) => e.msg.date >= day;
            if (key.endsWith('BEFORE')) return (e) => e.msg.date < day;
            return (e) => e.msg.date >= day && e.msg.date < day + 86_400_000;
          }
          case 'NOT': {
            const p = one(d + 1);
            return (e, s) => !p(e, s);
          }
          case 'OR': {
            const a = one(d + 1);
            const b = one(d + 1);
            return (e, s) => a(e, s) || b(e, s);
          }
          case 'UID': {
            const uids = new Set(sequenceSet(astring(toks[i++]) ?? '', list.at(-1)?.msg.uid ?? 1));
            return (e) => uids.has(e.msg.uid);
          }
          default: {
            if (!/^[\d:*,]+$/.test(key)) throw new ImapSyntaxError(`unknown search key ${key.slice(0, 32)}`);
            const seqs = new Set(sequenceSet(key, Math.max(list.length, 1)));
            return (_e, s) => seqs.has(s);
          }
        }
      };
      const preds: Pred[] = [];
      while (i < toks.length) preds.push(one(depth));
      return (e, s) => preds.every((p) => p(e, s));
    };

    const pred = parseAll(keys, 0);
    const hits = list
      .map((e, idx) => [idx + 1, e] as [number, Entry])
      .filter(([s, e]) => pred(e, s))
      .map(([s, e]) => (byUid ? e.msg.uid : s));
    this.w(`* SEARCH${hits.length ? ` ${hits.join(' ')}` : ''}\r\n${tag} OK Search completed ${timing()}\r\n`);
    return true;
  }

  private async append(tag: string, args: Token[]): Promise<boolean> {
    const box = astring(args[0]);
    const message = args.at(-1);
    if (box === null || !message || message.t !== 'string') return this.bad(tag, 'Error in IMAP command APPEND: Missing arguments.');
    if (!this.entries(box)) {
      this.w(`${tag} NO [TRYCREATE] Mailbox doesn't exist: ${box.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}\r\n`);
      return true;
    }
    const q = await this.ctx.quarantine('imap', 'append.eml', message.raw, MAX_LITERAL);
    this.session.record('file_upload', {
      name: 'append.eml',
      path: box.slice(0, 128),
      sha256: q.sha256 || createHash('sha256').update(message.raw).digest('hex'),
      size: message.raw.length,
      file_truncated: q.truncated,
      stored: q.stored ?? q.path !== '',
      quarantine_path: q.path || undefined,
      user: this.user,
    });
    this.w(`${tag} OK [APPENDUID ${this.uidValidity} ${(this.inbox.at(-1)?.msg.uid ?? 0) + 1}] Append completed ${timing()}\r\n`);
    return true;
  }

  private async idle(tag: string): Promise<boolean> {
    this.w('+ idling\r\n');
    for (;;) {
      const line = await this.conn.readLine();
      if (line === null) return false;
      if (line.text.trim().toUpperCase() === 'DONE') {
        this.w(`${tag} OK Idle completed ${timing()}\r\n`);
        return true;
      }
      return this.bad(tag, 'Expected DONE.');
    }
  }
}

const imap = mailboxService({
  name: 'imap',
  summary: 'IMAP mailbox',
  plainPort: 143,
  tlsPort: 993,
  open: (socket, stream, tls, session, ctx, cfg, context) => new ImapSession(socket, stream, tls, session, ctx, cfg, context),
});

export default imap;
