// The emulated shell: parses what the attacker types and answers from the fake filesystem and the
// machine profile. It never runs anything: every "command" is a function of ours that produces text.
// Every input line is recorded as a `command` event before it is interpreted.
import { ParseError, parse, type AndOr, type Command, type List, type Pipeline, type Redirect, type SimpleCommand, type Word } from './parse.ts';
import { FS_MESSAGES, FsError, Vfs, basename, dirname, readContent, resolvePath, type Identity, type Node } from './vfs.ts';
import { findUser, type MachineProfile, type UserEntry } from './profile.ts';
import { Capture, DISCARD, DEFAULT_SHELL_LIMITS, type CommandContext, type CommandFn, type ShellHost, type ShellLimits, type Sink } from './types.ts';
import { globMatch, hasGlob } from './glob.ts';
import { evalArithmetic } from './arith.ts';

export interface ShellOptions {
  profile: MachineProfile;
  vfs: Vfs;
  user: UserEntry;
  host: ShellHost;
  commands: ReadonlyMap<string, CommandFn>;
  limits?: Partial<ShellLimits>;
  pid?: number;
  /** Called for a command the machine does not have (after "command not found" is printed). */
  onMissing?: (ctx: CommandContext) => void;
}

/** Thrown to unwind the interpreter when the session must stop (exit, limits). */
class Unwind extends Error {
  readonly status: number;
  constructor(status: number) {
    super('unwind');
    this.status = status;
  }
}

const MAX_HISTORY = 1000;
const MAX_HISTORY_CHARS = 128 * 1024;
const MAX_VARS = 256;
const MAX_VAR_CHARS = 4096;

/** Shell variables, bounded in number and size whatever the attacker's loops do. */
class BoundedEnv extends Map<string, string> {
  override set(key: string, value: string): this {
    if (!this.has(key) && this.size >= MAX_VARS) return this;
    return super.set(key.slice(0, 128), value.length > MAX_VAR_CHARS ? value.slice(0, MAX_VAR_CHARS) : value);
  }
}

const PATH_ROOT = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PATH_USER = '/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games';

export class Shell {
  readonly profile: MachineProfile;
  readonly vfs: Vfs;
  readonly host: ShellHost;
  readonly limits: ShellLimits;
  readonly commands: ReadonlyMap<string, CommandFn>;
  readonly pid: number;
  private readonly onMissing: ((ctx: CommandContext) => void) | undefined;
  /** The login user; `user` changes under su/sudo. */
  readonly loginUser: UserEntry;
  user: UserEntry;
  cwd: string;
  oldCwd: string;
  readonly env: Map<string, string> = new BoundedEnv();
  readonly aliases = new Map<string, string>();
  history: string[] = [];
  private historyChars = 0;
  status = 0;
  exited = false;
  linesRun = 0;
  private steps = 0;
  private depth = 0;
  /** The sink that reaches the attacker's terminal for the current line. */
  private terminal: Sink | undefined;
  /** Aborted by Ctrl-C while a line runs. */
  private lineAbort = new AbortController();
  private jobs = 0;

  constructor(opts: ShellOptions) {
    this.profile = opts.profile;
    this.vfs = opts.vfs;
    this.host = opts.host;
    this.commands = opts.commands;
    this.onMissing = opts.onMissing;
    this.limits = { ...DEFAULT_SHELL_LIMITS, ...opts.limits };
    this.loginUser = opts.user;
    this.user = opts.user;
    this.pid = opts.pid ?? 1000 + Math.floor(Math.random() * 30000);
    this.cwd = this.vfs.lookup(opts.user.home)?.kind === 'dir' ? opts.user.home : '/';
    this.oldCwd = this.cwd;
    this.setLoginEnv(opts.user);
    const hist = this.vfs.lookup(`${opts.user.home}/.bash_history`);
    if (hist?.kind === 'file') for (const l of readContent(hist).split('\n').slice(-500)) this.addHistory(l);
  }

  private setLoginEnv(u: UserEntry): void {
    const e = this.env;
    e.set('HOME', u.home);
    e.set('USER', u.name);
    e.set('LOGNAME', u.name);
    e.set('SHELL', u.shell);
    e.set('PATH', u.uid === 0 ? PATH_ROOT : PATH_USER);
    e.set('PWD', this.cwd);
    e.set('LANG', 'C.UTF-8');
    e.set('TERM', this.host.tty === '?' ? 'dumb' : 'xterm-256color');
    e.set('HOSTNAME', this.profile.shortHostname);
    e.set('SHLVL', '1');
    e.set('MAIL', `/var/mail/${u.name}`);
    e.set('SSH_CLIENT', `${this.host.clientIp} ${this.host.clientPort} ${this.host.serverPort}`);
    e.set('SSH_CONNECTION', `${this.host.clientIp} ${this.host.clientPort} ${this.profile.ip} ${this.host.serverPort}`);
    if (this.host.tty !== '?') e.set('SSH_TTY', `/dev/${this.host.tty}`);
  }

  get identity(): Identity {
    return { uid: this.user.uid, gid: this.user.gid };
  }

  get isBusybox(): boolean {
    return this.profile.facts.busybox || this.profile.extras.family === 'alpine';
  }

  get home(): string {
    return this.env.get('HOME') ?? this.user.home;
  }

  /** The login shell's name (bash, ash, sh, zsh): it prefixes the shell's own messages. */
  get shellName(): string {
    if (this.profile.embedded) return 'sh';
    const name = basename(this.loginUser.shell);
    return name === 'ash' || name === 'zsh' || name === 'sh' ? name : 'bash';
  }

  /** The prefix of the shell's own error messages (`-bash: `, `bash: line 1: `, `-ash: `, `zsh: `). */
  errPrefix(): string {
    const sh = this.shellName;
    if (sh === 'zsh') return 'zsh: ';
    if (this.host.mode === 'shell' && this.depth === 0) {
      // A login shell reading a pipe (ssh -T host < script) numbers its lines.
      return this.host.tty === '?' && sh === 'bash' ? `-bash: line ${this.linesRun}: ` : `-${sh}: `;
    }
    return sh === 'bash' ? `${sh}: line 1: ` : `${sh}: `;
  }

  /** "command not found" in the login shell's own words. */
  notFound(name: string): string {
    if (this.shellName === 'zsh') return `zsh: command not found: ${name}\n`;
    return this.isBusybox ? `${this.errPrefix()}${name}: not found\n` : `${this.errPrefix()}${name}: command not found\n`;
  }

  prompt(): string {
    if (this.profile.extras.family === 'rhel' || this.profile.extras.family === 'arch') {
      const base = this.cwd === this.home ? '~' : basename(this.cwd);
      return `[${this.user.name}@${this.profile.shortHostname} ${base}]${this.user.uid === 0 ? '#' : '$'} `;
    }
    return this.profile.facts.prompt(this.user.name, this.cwd).replace(/\n/g, '\r\n');
  }

  resolve(path: string): string {
    return resolvePath(path, this.cwd, this.home);
  }

  record(event: string, fields: Record<string, string | number | boolean | undefined>, secret?: string): void {
    this.host.record(event, fields, secret);
  }

  /** Waits up to `ms` (capped), ending early when the session closes or the line is interrupted. */
  sleep(ms: number): Promise<void> {
    const wait = Math.max(0, Math.min(ms, this.limits.maxSleepMs));
    const signals = [this.host.signal, this.lineAbort.signal];
    return new Promise((resolve) => {
      if (signals.some((s) => s.aborted) || wait === 0) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      for (const s of signals) s.addEventListener('abort', done, { once: true });
    });
  }

  /** Ctrl-C: stops the running line at its next step (a sleep ends at once). */
  interrupt(): void {
    this.lineAbort.abort();
  }

  /** Describes a filesystem error as coreutils prints it. */
  fsMessage(err: unknown): string {
    if (err instanceof FsError) return FS_MESSAGES[err.code];
    return 'Input/output error';
  }

  clearHistory(): void {
    this.history = [];
    this.historyChars = 0;
  }

  addHistory(line: string): void {
    const trimmed = line.trim();
    if (!trimmed || line.startsWith(' ')) return;
    if (this.history[this.history.length - 1] === trimmed) return;
    this.history.push(trimmed);
    this.historyChars += trimmed.length;
    while (this.history.length > MAX_HISTORY || this.historyChars > MAX_HISTORY_CHARS) this.historyChars -= this.history.shift()!.length;
  }

  /**
   * Runs one line typed by the attacker (or an exec request). Records it, then interprets it.
   * `out`/`err` receive the output; returns the exit status.
   */
  async runLine(rawLine: string, out: Sink, err: Sink): Promise<number> {
    const truncated = rawLine.length > this.limits.maxLineLength;
    const line = truncated ? rawLine.slice(0, this.limits.maxLineLength) : rawLine;
    if (line.trim() === '') return this.status;
    this.linesRun++;
    this.host.record('command', { command: line, cwd: this.cwd, user: this.user.name, mode: this.host.mode, line_truncated: truncated || undefined });
    this.addHistory(line);
    if (this.linesRun > this.limits.maxCommands) {
      this.exited = true;
      return this.status;
    }
    this.steps = 0;
    this.lineAbort = new AbortController();
    const budget = new Budget(out, err, this.limits.maxOutput);
    this.terminal = this.host.mode === 'shell' ? budget.out : undefined;
    try {
      this.status = await this.evaluate(line, budget.out, budget.err);
    } catch (e) {
      if (!(e instanceof Unwind)) throw e;
      this.status = e.status;
    }
    return this.status;
  }

  /** Parses and runs source text (a line, a script, `sh -c` text) in this shell. */
  async evaluate(src: string, out: Sink, err: Sink, stdin = ''): Promise<number> {
    let list: List;
    try {
      list = parse(this.expandAliases(src));
    } catch (e) {
      if (e instanceof ParseError) {
        err.write(`${this.errPrefix()}${e.message}\n`);
        return 2;
      }
      throw e;
    }
    return this.runList(list, out, err, stdin);
  }

  /** Nested evaluation (sh -c, eval, scripts, $(…)) with a depth limit. */
  async nested<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
    if (this.depth >= this.limits.maxDepth) return fallback;
    this.depth++;
    try {
      return await fn();
    } finally {
      this.depth--;
    }
  }

  private expandAliases(src: string): string {
    if (this.aliases.size === 0) return src;
    const m = /^(\s*)([A-Za-z0-9_.-]+)(.*)$/s.exec(src);
    if (!m) return src;
    const alias = this.aliases.get(m[2]!);
    return alias === undefined ? src : m[1] + alias + m[3];
  }

  private async runList(list: List, out: Sink, err: Sink, stdin: string): Promise<number> {
    let status = this.status;
    for (const andOr of list) {
      if (this.exited) break;
      status = await this.runAndOr(andOr, out, err, stdin);
      this.status = status;
    }
    return status;
  }

  private async runAndOr(ao: AndOr, out: Sink, err: Sink, stdin: string): Promise<number> {
    if (ao.background && this.host.mode === 'shell' && this.depth === 0) {
      this.jobs++;
      out.write(`[${this.jobs}] ${this.pid + 100 + this.jobs}\n`);
    }
    let status = await this.runPipeline(ao.first, out, err, stdin);
    for (const { op, pipeline } of ao.rest) {
      if (this.exited) break;
      if ((op === '&&' && status !== 0) || (op === '||' && status === 0)) continue;
      status = await this.runPipeline(pipeline, out, err, stdin);
    }
    return ao.background ? 0 : status;
  }

  private async runPipeline(p: Pipeline, out: Sink, err: Sink, stdin: string): Promise<number> {
    let input = stdin;
    let status = 0;
    for (let i = 0; i < p.commands.length; i++) {
      const last = i === p.commands.length - 1;
      const sink = last ? out : new Capture(this.limits.maxOutput);
      status = await this.runCommand(p.commands[i]!, sink, err, input);
      if (!last) input = (sink as Capture).text;
      if (this.exited) break;
    }
    return p.negate ? (status === 0 ? 1 : 0) : status;
  }

  private step(): void {
    if (++this.steps > this.limits.maxSteps) throw new Unwind(130);
    if (this.host.signal.aborted || this.lineAbort.signal.aborted) throw new Unwind(130);
  }

  private async runCommand(cmd: Command, out: Sink, err: Sink, stdin: string): Promise<number> {
    this.step();
    switch (cmd.type) {
      case 'simple':
        return this.runSimple(cmd, out, err, stdin);
      case 'group': {
        const saved = cmd.subshell ? { cwd: this.cwd, env: new Map(this.env), user: this.user } : undefined;
        const io = await this.openRedirects(cmd.redirects, out, err, stdin);
        if (!io) return 1;
        try {
          return await this.runList(cmd.body, io.out, io.err, io.stdin);
        } finally {
          await io.close();
          if (saved) {
            this.cwd = saved.cwd;
            this.user = saved.user;
            this.env.clear();
            for (const [k, v] of saved.env) this.env.set(k, v);
          }
        }
      }
      case 'if': {
        for (const branch of cmd.branches) {
          if ((await this.runList(branch.cond, out, err, stdin)) === 0) return this.runList(branch.body, out, err, stdin);
        }
        return cmd.otherwise ? this.runList(cmd.otherwise, out, err, stdin) : 0;
      }
      case 'for': {
        const items = cmd.items.length ? await this.expandWords(cmd.items, err) : [];
        let status = 0;
        for (const item of items.slice(0, 1000)) {
          this.step();
          this.env.set(cmd.name, item);
          status = await this.runList(cmd.body, out, err, stdin);
          if (this.exited) break;
        }
        return status;
      }
      case 'while': {
        let status = 0;
        for (let n = 0; n < 1000; n++) {
          this.step();
          const c = await this.runList(cmd.cond, out, err, stdin);
          if ((c === 0) === cmd.until || this.exited) break;
          status = await this.runList(cmd.body, out, err, stdin);
        }
        return status;
      }
    }
  }

  // ---- expansion ----

  lookupVar(name: string): string {
    switch (name) {
      case '?': return String(this.status);
      case '$': return String(this.pid);
      case '#': return '0';
      case '0': return this.host.mode === 'shell' ? (this.isBusybox ? '-sh' : '-bash') : (this.isBusybox ? 'sh' : 'bash');
      case '!': return String(this.pid + 100 + this.jobs);
      case '-': return this.host.mode === 'shell' ? 'himBHs' : 'hBc';
      case '@': case '*': return '';
      case 'RANDOM': return String(Math.floor(Math.random() * 32768));
      case 'PWD': return this.cwd;
      case 'OLDPWD': return this.oldCwd;
      case 'UID': return String(this.user.uid);
      case 'EUID': return String(this.user.uid);
      case 'PPID': return String(this.pid - 1);
      case 'BASH': return this.isBusybox ? '' : '/usr/bin/bash';
      case 'BASH_VERSION': return this.isBusybox ? '' : '5.2.15(1)-release';
      case 'HISTFILE': return this.env.get('HISTFILE') ?? `${this.home}/.bash_history`;
      case 'SECONDS': return String(Math.floor((Date.now() - this.host.loginTime) / 1000));
      default: return this.env.get(name) ?? '';
    }
  }

  /** `${…}` bodies: NAME, #NAME, NAME:-word, NAME-word, NAME:=word, NAME:+word. */
  private async braceVar(body: string, err: Sink): Promise<string> {
    if (/^[A-Za-z_][A-Za-z0-9_]*$|^[0-9?$#!@*-]$/.test(body)) return this.lookupVar(body);
    const len = /^#([A-Za-z_][A-Za-z0-9_]*)$/.exec(body);
    if (len) return String(this.lookupVar(len[1]!).length);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(:?)([-=+?])(.*)$/s.exec(body);
    if (m) {
      const value = this.lookupVar(m[1]!);
      const unset = m[2] ? value === '' : !this.env.has(m[1]!);
      const word = (await this.expandWord([{ t: 'lit', v: m[4]!, quoted: true }], err)).join(' ');
      switch (m[3]) {
        case '-': return unset ? word : value;
        case '=': if (unset) this.env.set(m[1]!, word); return unset ? word : value;
        case '+': return unset ? '' : word;
        case '?': return value;
      }
    }
    err.write(`${this.errPrefix()}\${${body}}: bad substitution\n`);
    throw new Unwind(1);
  }

  private async substitute(src: string, err: Sink): Promise<string> {
    if (src.startsWith('((') && src.endsWith('))')) {
      const inner = src.slice(2, -2).replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, n: string) => this.lookupVar(n) || '0');
      const value = evalArithmetic(inner, (n) => Number(this.lookupVar(n)) || 0);
      if (value === undefined) {
        err.write(`${this.errPrefix()}${inner.trim()}: syntax error in expression\n`);
        throw new Unwind(1);
      }
      return String(value);
    }
    const cap = new Capture(this.limits.maxOutput);
    await this.nested(() => this.evaluate(src, cap, err), 0);
    return cap.text.replace(/\n+$/, '');
  }

  async expandWord(word: Word, err: Sink): Promise<string[]> {
    const fields: string[] = [''];
    let anyQuoted = false;
    let glob = false;
    let expandedEmpty = false;
    for (let i = 0; i < word.length; i++) {
      const part = word[i]!;
      if (part.quoted) anyQuoted = true;
      if (part.t === 'lit') {
        let v = part.v;
        if (i === 0 && !part.quoted && (v === '~' || v.startsWith('~/'))) v = this.home + v.slice(1);
        if (!part.quoted && hasGlob(v)) glob = true;
        fields[fields.length - 1] += v;
        continue;
      }
      const value = part.t === 'var' ? await this.braceVar(part.name, err) : await this.substitute(part.src, err);
      if (part.quoted) {
        fields[fields.length - 1] += value;
        continue;
      }
      // Unquoted expansion: split into fields on whitespace.
      if (value === '') { expandedEmpty = true; continue; }
      const pieces = value.split(/[ \t\n]+/);
      if (pieces[0] === '') pieces.shift();
      const trailing = pieces[pieces.length - 1] === '';
      if (trailing) pieces.pop();
      if (/^[ \t\n]/.test(value) && fields[fields.length - 1] !== '') fields.push('');
      pieces.forEach((piece, j) => {
        if (j > 0) fields.push('');
        fields[fields.length - 1] += piece;
      });
      if (trailing) fields.push('');
    }
    let result = fields;
    if (!anyQuoted) result = result.filter((f) => f !== '');
    else if (result.length > 1 && result[result.length - 1] === '') result.pop();
    if (expandedEmpty && !anyQuoted && result.length === 0) return [];
    if (glob) {
      const expanded: string[] = [];
      for (const f of result) {
        const matches = hasGlob(f) ? this.globPath(f) : [];
        if (matches.length) expanded.push(...matches);
        else expanded.push(f);
      }
      return expanded;
    }
    return result;
  }

  async expandWords(words: Word[], err: Sink): Promise<string[]> {
    const out: string[] = [];
    for (const w of words) {
      out.push(...(await this.expandWord(w, err)));
      if (out.length > 10_000) break;
    }
    return out;
  }

  /** Expands a glob pattern against the fake filesystem (sorted; empty when nothing matches). */
  globPath(pattern: string): string[] {
    const absolute = pattern.startsWith('/');
    const segments = pattern.split('/').filter(Boolean);
    let current: string[] = [absolute ? '/' : ''];
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const next: string[] = [];
      for (const base of current) {
        const dirPath = base === '' ? this.cwd : base;
        if (!hasGlob(seg)) {
          const candidate = base === '' ? seg : base === '/' ? `/${seg}` : `${base}/${seg}`;
          if (this.safeLookup(this.resolve(candidate))) next.push(candidate);
          continue;
        }
        let entries: [string, Node][];
        try {
          entries = this.vfs.list(this.resolve(dirPath));
        } catch {
          continue;
        }
        for (const [name] of entries) {
          if (name.startsWith('.') && !seg.startsWith('.')) continue;
          if (globMatch(seg, name)) next.push(base === '' ? name : base === '/' ? `/${name}` : `${base}/${name}`);
          if (next.length > 1000) break;
        }
      }
      current = next;
      if (current.length === 0) return [];
    }
    return current.sort();
  }

  safeLookup(abs: string, follow = true): Node | undefined {
    try {
      return this.vfs.lookup(abs, follow);
    } catch {
      return undefined;
    }
  }

  // ---- redirections ----

  private async openRedirects(redirects: Redirect[], out: Sink, err: Sink, stdin: string): Promise<{ out: Sink; err: Sink; stdin: string; close(): Promise<void> } | undefined> {
    let o = out;
    let e = err;
    let input = stdin;
    const pending: { path: string; append: boolean; cap: Capture }[] = [];
    for (const r of redirects) {
      const target = (await this.expandWord(r.target, err)).join(' ');
      if (r.op === '<<<') { input = target + '\n'; continue; }
      if (r.op === '<<') { input = ''; continue; }
      if (r.op === '>&' || r.op === '<&') {
        if (target === '1' && r.fd === 2) e = o;
        else if (target === '2' && r.fd === 1) o = e;
        else if (target === '-') { if (r.fd === 2) e = DISCARD; else o = DISCARD; }
        else if (!/^\d+$/.test(target)) {
          // `>& file` is `&> file`.
          const cap = new Capture(this.limits.maxOutput);
          pending.push({ path: target, append: false, cap });
          o = cap;
          e = cap;
        }
        continue;
      }
      if (r.op === '<') {
        const abs = this.resolve(target);
        const node = this.safeLookup(abs);
        if (!node) { err.write(`${this.errPrefix()}${target}: No such file or directory\n`); return undefined; }
        if (!this.vfs.canRead(node, this.identity)) { err.write(`${this.errPrefix()}${target}: Permission denied\n`); return undefined; }
        input = node.kind === 'file' ? readContent(node) : '';
        continue;
      }
      // > >> &>
      const abs = this.resolve(target);
      const node = this.safeLookup(abs);
      if (node?.kind === 'dev') {
        if (r.op === '&>') { o = DISCARD; e = DISCARD; } else if (r.fd === 2) e = DISCARD; else o = DISCARD;
        continue;
      }
      if (node?.kind === 'dir') { err.write(`${this.errPrefix()}${target}: Is a directory\n`); return undefined; }
      try {
        // Create/truncate now, as the real shell does before running the command.
        if (r.op !== '>>' || !node) this.vfs.writeFile(abs, '', this.identity, false);
      } catch (ex) {
        err.write(`${this.errPrefix()}${target}: ${this.fsMessage(ex)}\n`);
        return undefined;
      }
      const cap = new Capture(this.limits.maxOutput);
      pending.push({ path: abs, append: r.op === '>>', cap });
      if (r.op === '&>') { o = cap; e = cap; } else if (r.fd === 2) e = cap; else o = cap;
    }
    return {
      out: o,
      err: e,
      stdin: input,
      close: async () => {
        for (const p of pending) {
          try {
            this.vfs.writeFile(this.resolve(p.path), p.cap.text, this.identity, p.append);
          } catch (ex) {
            err.write(`${this.errPrefix()}${p.path}: ${this.fsMessage(ex)}\n`);
          }
        }
      },
    };
  }

  // ---- simple commands ----

  private async runSimple(cmd: SimpleCommand, out: Sink, err: Sink, stdin: string): Promise<number> {
    const argv = await this.expandWords(cmd.words, err);
    const assigns: [string, string][] = [];
    for (const a of cmd.assigns) assigns.push([a.name, (await this.expandWord(a.value, err)).join(' ')]);
    const io = await this.openRedirects(cmd.redirects, out, err, stdin);
    if (!io) return 1;
    try {
      if (argv.length === 0) {
        for (const [k, v] of assigns) this.env.set(k, v);
        return 0;
      }
      const saved = assigns.map(([k]) => [k, this.env.get(k)] as const);
      for (const [k, v] of assigns) this.env.set(k, v);
      try {
        return await this.invoke(argv, io.stdin, io.out, io.err);
      } finally {
        for (const [k, v] of saved) if (v === undefined) this.env.delete(k); else this.env.set(k, v);
      }
    } finally {
      await io.close();
    }
  }

  /** Runs argv[0] with the rest as arguments: a builtin, an emulated binary, or a script. */
  async invoke(argv: string[], stdin: string, out: Sink, err: Sink): Promise<number> {
    const name = argv[0]!;
    const args = argv.slice(1);
    const ctx = (fn: string): CommandContext => ({
      name: fn,
      args,
      stdin,
      tty: out === this.terminal,
      out: (t) => out.write(t),
      err: (t) => err.write(t),
      sh: this,
    });
    if (!name.includes('/')) {
      const builtin = BUILTIN_NAMES.has(name) ? this.commands.get(name) : undefined;
      if (builtin) return builtin(ctx(name));
      for (const dir of (this.env.get('PATH') ?? PATH_USER).split(':')) {
        if (!dir) continue;
        const node = this.safeLookup(`${dir}/${name}`);
        if (node && node.kind !== 'dir') return this.runFile(`${dir}/${name}`, name, argv, stdin, out, err);
      }
      err.write(this.notFound(name));
      this.onMissing?.(ctx(name));
      return 127;
    }
    return this.runFile(this.resolve(name), name, argv, stdin, out, err);
  }

  private async runFile(abs: string, shown: string, argv: string[], stdin: string, out: Sink, err: Sink): Promise<number> {
    const lnode = this.safeLookup(abs, false);
    const node = this.safeLookup(abs);
    if (!node) {
      err.write(`${this.errPrefix()}${shown}: No such file or directory\n`);
      return 127;
    }
    if (node.kind === 'dir') {
      err.write(`${this.errPrefix()}${shown}: Is a directory\n`);
      return 126;
    }
    if (!this.vfs.canExecute(node, this.identity)) {
      err.write(`${this.errPrefix()}${shown}: Permission denied\n`);
      return 126;
    }
    // An emulated binary: whatever the path, its name picks the implementation (busybox links too).
    let real = abs;
    try { real = this.vfs.realpath(abs); } catch { /* keep abs */ }
    const inBinDir = /^\/(usr\/(local\/)?)?s?bin$/.test(dirname(real));
    if (inBinDir) {
      // The target picks the implementation (sh -> dash, a BusyBox applet link -> the applet by the
      // name it was called with); the program sees the name it was invoked as, like argv[0].
      const invoked = basename(abs);
      const target = basename(real);
      const fn = target === 'busybox' && lnode?.kind === 'link' ? this.commands.get(invoked) : this.commands.get(target) ?? this.commands.get(invoked);
      if (fn) return fn({ name: invoked, args: argv.slice(1), stdin, tty: out === this.terminal, out: (t) => out.write(t), err: (t) => err.write(t), sh: this });
    }
    if (node.kind !== 'file') return 0;
    const content = readContent(node);
    if (content.startsWith('\x7fELF') || /[\x00-\x08\x0e-\x1f]/.test(content.slice(0, 512))) {
      // A binary the attacker dropped (or one of ours we do not emulate): it never runs.
      if (inBinDir) return 0;
      err.write(`${this.errPrefix()}${shown}: cannot execute binary file: Exec format error\n`);
      return 126;
    }
    // A text script: interpreted line by line by this same emulated shell.
    return this.nested(() => this.evaluate(content.replace(/^#![^\n]*\n/, ''), out, err, stdin), 0);
  }

  /** Switches to another user (su, sudo); returns the previous one. */
  become(user: UserEntry, login: boolean): UserEntry {
    const prev = this.user;
    this.user = user;
    if (login) {
      this.cwd = user.home;
      this.setLoginEnv(user);
    } else {
      this.env.set('USER', user.name);
      this.env.set('LOGNAME', user.name);
    }
    return prev;
  }

  findUser(name: string): UserEntry | undefined {
    return findUser(this.profile, name);
  }

  /** Ends the session (exit, logout). */
  exit(status: number): never {
    this.exited = true;
    throw new Unwind(status);
  }
}

/** Commands the shell must not look up in PATH (they change the shell itself). */
export const BUILTIN_NAMES: ReadonlySet<string> = new Set([
  'cd', 'pwd', 'echo', 'printf', 'export', 'unset', 'set', 'exit', 'logout', 'history', 'alias', 'unalias', 'source', '.',
  'eval', 'exec', 'type', 'command', 'hash', 'true', 'false', ':', 'test', '[', 'read', 'umask', 'ulimit', 'jobs', 'wait',
  'kill', 'shopt', 'enable', 'builtin', 'declare', 'typeset', 'local', 'readonly', 'trap', 'times', 'fg', 'bg', 'disown',
  'shift', 'return', 'break', 'continue', 'help', 'let', 'time', 'compgen', 'complete', 'suspend', 'getopts', 'mapfile', 'dirs', 'pushd', 'popd',
]);

/** Limits one line's output, whatever the commands do. */
class Budget {
  readonly out: Sink;
  readonly err: Sink;
  private left: number;

  constructor(out: Sink, err: Sink, max: number) {
    this.left = max;
    const wrap = (s: Sink): Sink => ({
      write: (t) => {
        if (this.left <= 0) return;
        const part = t.length > this.left ? t.slice(0, this.left) : t;
        this.left -= part.length;
        s.write(part);
      },
    });
    this.out = wrap(out);
    this.err = wrap(err);
  }
}
