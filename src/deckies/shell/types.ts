// Types shared by the shell interpreter and its command modules.
import type { EventFields } from '../service.ts';
import type { Shell } from './shell.ts';

export interface Sink {
  write(text: string): void;
}

/** Collects output up to a byte budget (pipelines, $(…), redirections). */
export class Capture implements Sink {
  text = '';
  truncated = false;
  private readonly cap: number;

  constructor(cap: number) {
    this.cap = cap;
  }

  write(text: string): void {
    if (this.truncated) return;
    if (this.text.length + text.length > this.cap) {
      this.text += text.slice(0, this.cap - this.text.length);
      this.truncated = true;
      return;
    }
    this.text += text;
  }
}

export const DISCARD: Sink = { write() {} };

export interface CommandContext {
  /** The name the command was invoked as (basename for paths). */
  name: string;
  /** Arguments after the name. */
  args: string[];
  stdin: string;
  /** Output goes straight to an interactive terminal (ls prints columns, etc.). */
  tty: boolean;
  out(text: string): void;
  err(text: string): void;
  sh: Shell;
}

export type CommandFn = (ctx: CommandContext) => number | Promise<number>;

/** What the shell needs from its transport (ssh channel, telnet connection). */
export interface ShellHost {
  /** Records an event for this session (the transport adds session id and peer); `secret` goes to secret_b64. */
  record(event: string, fields: EventFields, secret?: string): void;
  /** Reads one line without echo from an interactive terminal; null when there is none. */
  readSecret?(prompt: string): Promise<string | null>;
  /** Checks a password of a login user (sudo, su). */
  checkPassword(user: string, password: string): boolean;
  /** Aborted when the session ends. */
  signal: AbortSignal;
  /** `shell` for an interactive login, `exec` for a one-off command. */
  mode: 'shell' | 'exec';
  /** Terminal name, e.g. pts/0, or '?' without a terminal. */
  tty: string;
  clientIp: string;
  clientPort: number;
  serverPort: number;
  loginTime: number;
}

export interface ShellLimits {
  /** Longest accepted command line (characters); longer input is cut and recorded as truncated. */
  maxLineLength: number;
  /** Command lines per session before the shell logs out. */
  maxCommands: number;
  /** Output bytes one command line may produce. */
  maxOutput: number;
  /** Simple commands one line may run (loops, scripts). */
  maxSteps: number;
  /** Nesting of $(…), eval, sh -c and scripts. */
  maxDepth: number;
  /** Longest `sleep` honoured, ms. */
  maxSleepMs: number;
  /** Bytes a session may write into its overlay filesystem. */
  maxFsBytes: number;
  /** Files and directories a session may create. */
  maxFsEntries: number;
}

export const DEFAULT_SHELL_LIMITS: ShellLimits = {
  maxLineLength: 8192,
  maxCommands: 2000,
  maxOutput: 256 * 1024,
  maxSteps: 2000,
  maxDepth: 4,
  maxSleepMs: 15_000,
  maxFsBytes: 1024 * 1024,
  maxFsEntries: 500,
};
