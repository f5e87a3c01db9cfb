// Drives an emulated shell over a byte stream: a line editor for interactive terminals (echo,
// backspace, Ctrl-C/D/U/L, arrow-key history) or plain line reading without a terminal. Like
// readline, input typed while a command runs is kept raw (bounded) and only read, echoed and
// edited once the next prompt is shown; Ctrl-C interrupts the running command.
import { StringDecoder } from 'node:string_decoder';
import type { Shell } from './shell.ts';
import type { Sink } from './types.ts';

export interface TerminalOutput {
  /** Writes to the client's stdout. */
  out(text: string): void;
  /** Writes to the client's stderr (same as out on a terminal). */
  err(text: string): void;
  /** Ends the session; `status` is the shell's exit status. */
  close(status: number): void;
}

export interface TerminalOptions {
  /** A pty was requested: echo, prompts, CR LF output, line editing. */
  interactive: boolean;
  /** Characters of typeahead kept while a command runs. */
  maxTypeahead?: number;
}

const MAX_TYPEAHEAD = 64 * 1024;

export class Terminal {
  private readonly shell: Shell;
  private readonly io: TerminalOutput;
  private readonly interactive: boolean;
  private readonly maxTypeahead: number;
  private readonly decoder = new StringDecoder('utf8');
  private line = '';
  /** Raw input received while a command runs. */
  private typeahead = '';
  private running = false;
  private closed = false;
  private eof = false;
  private lastWasCR = false;
  private escape = '';
  private historyIndex = -1;
  private secret: { resolve: (v: string | null) => void } | undefined;
  private readonly stdout: Sink;
  private readonly stderr: Sink;

  constructor(shell: Shell, io: TerminalOutput, opts: TerminalOptions) {
    this.shell = shell;
    this.io = io;
    this.interactive = opts.interactive;
    this.maxTypeahead = opts.maxTypeahead ?? MAX_TYPEAHEAD;
    const crlf = (t: string): string => (this.interactive ? t.replace(/\r?\n/g, '\r\n') : t);
    this.stdout = { write: (t) => { if (!this.closed) this.io.out(crlf(t)); } };
    this.stderr = { write: (t) => { if (!this.closed) (this.interactive ? this.io.out : this.io.err)(crlf(t)); } };
  }

  /** Prints the login banner (interactive only) and the first prompt. */
  start(banner = ''): void {
    if (this.interactive) {
      if (banner) this.stdout.write(banner);
      this.prompt();
    }
  }

  private prompt(): void {
    if (this.interactive && !this.closed) this.io.out(this.shell.prompt());
  }

  private echo(text: string): void {
    if (this.interactive && !this.secret && !this.closed) this.io.out(text);
  }

  /** Reads one line without echo (sudo/su/passwd prompts). Null without a terminal. */
  readSecret(prompt: string): Promise<string | null> {
    if (!this.interactive || this.closed || this.eof) return Promise.resolve(null);
    this.io.out(prompt);
    const promise = new Promise<string | null>((resolve) => {
      this.secret = { resolve };
    });
    // Typeahead answers the prompt, as it would on a real terminal.
    const pending = this.typeahead;
    this.typeahead = '';
    if (pending) this.process(pending);
    return promise;
  }

  /** Input EOF (channel end, socket end). */
  end(): void {
    this.eof = true;
    if (this.secret) {
      const { resolve } = this.secret;
      this.secret = undefined;
      resolve(null);
    }
    if (!this.running) this.drainAndMaybeFinish();
  }

  feed(data: Buffer | string): void {
    if (this.closed) return;
    const text = typeof data === 'string' ? data : this.decoder.write(data);
    if (this.running && !this.secret) {
      if (this.interactive && text.includes('\x03')) {
        // ^C reaches the running command (SIGINT) and discards what was typed ahead.
        this.io.out('^C');
        this.typeahead = '';
        this.shell.interrupt();
        return;
      }
      if (this.typeahead.length + text.length <= this.maxTypeahead) this.typeahead += text;
      return;
    }
    this.process(text);
  }

  private process(text: string): void {
    const chars = Array.from(text);
    for (let i = 0; i < chars.length; i++) {
      if (this.closed) return;
      if (this.running && !this.secret) {
        // A line just started running: the rest waits, unread, like readline's typeahead.
        const rest = chars.slice(i).join('');
        if (this.typeahead.length + rest.length <= this.maxTypeahead) this.typeahead += rest;
        return;
      }
      this.key(chars[i]!);
    }
  }

  private key(ch: string): void {
    if (this.escape) {
      this.escape += ch;
      // CSI sequences end with a byte in @..~; SS3 (ESC O x) after one more byte.
      if ((this.escape.length >= 3 && /[@-~]/.test(ch)) || (this.escape.startsWith('\x1bO') && this.escape.length === 3) || this.escape.length > 16) {
        const seq = this.escape;
        this.escape = '';
        if (this.interactive && !this.secret) this.arrow(seq);
      } else if (this.escape.length === 2 && ch !== '[' && ch !== 'O') this.escape = '';
      return;
    }
    const code = ch.codePointAt(0)!;
    if ((ch === '\n' || ch === '\0') && this.lastWasCR) { this.lastWasCR = false; return; }
    this.lastWasCR = ch === '\r';
    if (ch === '\r' || ch === '\n') {
      if (this.secret) this.io.out('\r\n');
      else this.echo('\r\n');
      const line = this.line;
      this.line = '';
      this.historyIndex = -1;
      this.submit(line);
      return;
    }
    if (!this.interactive) {
      if (this.line.length <= this.shell.limits.maxLineLength) this.line += ch;
      return;
    }
    switch (code) {
      case 0x7f:
      case 0x08:
        if (this.line.length > 0) {
          this.line = Array.from(this.line).slice(0, -1).join('');
          this.echo('\b \b');
        }
        return;
      case 0x03:
        this.io.out('^C\r\n');
        this.line = '';
        if (this.secret) { const { resolve } = this.secret; this.secret = undefined; resolve(''); return; }
        this.prompt();
        return;
      case 0x04:
        if (this.line === '' && !this.secret) this.logout();
        return;
      case 0x15:
        this.echo('\b \b'.repeat(Array.from(this.line).length));
        this.line = '';
        return;
      case 0x0c:
        this.io.out('\x1b[H\x1b[2J');
        this.prompt();
        this.echo(this.line);
        return;
      case 0x09:
        this.echo('\x07');
        return;
      case 0x1b:
        this.escape = ch;
        return;
    }
    if (code < 0x20) return;
    if (this.line.length >= this.shell.limits.maxLineLength) {
      this.echo('\x07');
      return;
    }
    this.line += ch;
    this.echo(ch);
  }

  private arrow(seq: string): void {
    const hist = this.shell.history;
    if ((seq === '\x1b[A' || seq === '\x1bOA') && hist.length) {
      this.historyIndex = this.historyIndex === -1 ? hist.length - 1 : Math.max(0, this.historyIndex - 1);
    } else if ((seq === '\x1b[B' || seq === '\x1bOB') && this.historyIndex !== -1) {
      this.historyIndex = this.historyIndex + 1 >= hist.length ? -1 : this.historyIndex + 1;
    } else return;
    this.echo('\b \b'.repeat(Array.from(this.line).length));
    this.line = this.historyIndex === -1 ? '' : hist[this.historyIndex]!;
    this.echo(this.line);
  }

  private submit(line: string): void {
    if (this.secret) {
      const { resolve } = this.secret;
      this.secret = undefined;
      resolve(line);
      return;
    }
    void this.run(line);
  }

  private async run(line: string): Promise<void> {
    this.running = true;
    try {
      await this.shell.runLine(line, this.stdout, this.stderr);
    } catch (err) {
      // A defect in an emulated command must not take the session (or its host) down.
      this.stderr.write('Segmentation fault (core dumped)\n');
      this.shell.record('shell_error', { error: String((err as Error)?.message ?? err).slice(0, 200) });
      this.shell.status = 139;
    } finally {
      this.running = false;
    }
    if (this.closed) return;
    if (this.shell.exited) {
      this.finish(this.shell.status);
      return;
    }
    this.prompt();
    this.drainAndMaybeFinish();
  }

  /** Reads typeahead now that the shell is waiting; ends the session at EOF once idle. */
  private drainAndMaybeFinish(): void {
    const pending = this.typeahead;
    this.typeahead = '';
    if (pending) this.process(pending);
    if (this.running || !this.eof || this.closed) return;
    if (!this.interactive && this.line !== '') {
      // The last line of piped input may lack a newline.
      const last = this.line;
      this.line = '';
      this.submit(last);
      if (this.running) return;
    }
    this.finish(this.shell.status);
  }

  private logout(): void {
    if (this.interactive) this.io.out('logout\r\n');
    this.finish(this.shell.status);
  }

  private finish(status: number): void {
    if (this.closed) return;
    this.closed = true;
    this.io.close(status);
  }
}
