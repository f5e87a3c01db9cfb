// Structured logging to stderr. One line per record: readable text by default,
// JSON lines with DECNET_LOG_FORMAT=json. Every logger carries a tag (usually a worker's name).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly tag: string;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(tag: string): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function configuredLevel(): number {
  const raw = (process.env.DECNET_LOG_LEVEL ?? 'info').toLowerCase();
  return LEVELS[raw as LogLevel] ?? LEVELS.info;
}

let threshold = configuredLevel();
let json = process.env.DECNET_LOG_FORMAT === 'json';
let sink: (line: string) => void = (line) => process.stderr.write(line);

/** Tests and hosts may redirect log output or change the level at run time. */
export function configureLogging(opts: { level?: LogLevel; json?: boolean; sink?: (line: string) => void }): void {
  if (opts.level) threshold = LEVELS[opts.level];
  if (opts.json !== undefined) json = opts.json;
  if (opts.sink) sink = opts.sink;
}

function renderValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.stack ?? value.message);
  if (typeof value === 'string') return /^[\w.:/@+-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return '"[unserialisable]"';
    }
  }
  return String(value);
}

function emit(level: LogLevel, tag: string, msg: string, fields?: LogFields): void {
  if (LEVELS[level] < threshold) return;
  const ts = new Date().toISOString();
  if (json) {
    const record: LogFields = { ts, level, tag, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = v instanceof Error ? (v.stack ?? v.message) : v;
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ts, level, tag, msg });
    }
    sink(line + '\n');
    return;
  }
  let line = `${ts} ${level.toUpperCase().padEnd(5)} [${tag}] ${msg}`;
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${renderValue(v)}`;
  sink(line + '\n');
}

export function createLogger(tag: string): Logger {
  return {
    tag,
    debug: (msg, fields) => emit('debug', tag, msg, fields),
    info: (msg, fields) => emit('info', tag, msg, fields),
    warn: (msg, fields) => emit('warn', tag, msg, fields),
    error: (msg, fields) => emit('error', tag, msg, fields),
    child: (sub) => createLogger(`${tag}/${sub}`),
  };
}
