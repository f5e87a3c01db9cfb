// Errors that carry an exit code and a message meant for the operator (no stack trace shown).

export class DecnetError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'DecnetError';
    this.exitCode = exitCode;
  }
}

/** Bad command-line usage: exit code 2, like other Unix tools. */
export class UsageError extends DecnetError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** Invalid configuration (environment, fleet spec, INI file). */
export class ConfigError extends DecnetError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'ConfigError';
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
