// Shell builtins: the commands that change the shell itself (cd, export, history, exit …) and the
// few that bash implements internally (echo, printf, test).
import { readContent } from '../vfs.ts';
import { BUILTIN_NAMES } from '../shell.ts';
import { Capture, type CommandContext, type CommandFn } from '../types.ts';
import { ansiC } from '../parse.ts';

function cd(c: CommandContext): number {
  const sh = c.sh;
  let target = c.args.filter((a) => a !== '-L' && a !== '-P')[0];
  let print = false;
  if (target === undefined || target === '') target = sh.home;
  else if (target === '-') { target = sh.oldCwd; print = true; }
  const abs = sh.resolve(target);
  const node = sh.safeLookup(abs);
  const fail = (msg: string): number => {
    c.err(`${sh.errPrefix()}cd: ${target}: ${msg}\n`);
    return 1;
  };
  if (!node) return fail('No such file or directory');
  if (node.kind !== 'dir') return fail('Not a directory');
  if (!sh.vfs.canExecute(node, sh.identity)) return fail('Permission denied');
  sh.oldCwd = sh.cwd;
  sh.cwd = abs;
  sh.env.set('OLDPWD', sh.oldCwd);
  sh.env.set('PWD', abs);
  if (print) c.out(abs + '\n');
  return 0;
}

/** Interprets echo -e / printf %b escapes. `\c` stops output. */
export function escapes(text: string): { text: string; stop: boolean } {
  const stop = text.indexOf('\\c');
  const body = stop === -1 ? text : text.slice(0, stop);
  return { text: ansiC(body.replace(/\\0([0-7]{1,3})/g, (_m, o: string) => '\\' + o)), stop: stop !== -1 };
}

function echo(c: CommandContext): number {
  let newline = true;
  let interpret = false;
  let i = 0;
  for (; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (!/^-[neE]+$/.test(a)) break;
    if (a.includes('n')) newline = false;
    if (a.includes('e')) interpret = true;
    if (a.includes('E')) interpret = false;
  }
  let text = c.args.slice(i).join(' ');
  if (interpret) {
    const r = escapes(text);
    text = r.text;
    if (r.stop) newline = false;
  }
  c.out(text + (newline ? '\n' : ''));
  return 0;
}

/** printf with %s %b %d %i %u %x %X %o %c %f %% and widths; the format repeats for extra arguments. */
export function formatPrintf(format: string, args: string[]): string {
  let out = '';
  let ai = 0;
  for (let round = 0; round < 100; round++) {
    const used = ai;
    out += format.replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([sbdiuxXocf%])/g, (_m, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
      if (conv === '%') return '%';
      const arg = args[ai++] ?? '';
      let s: string;
      switch (conv) {
        case 's': s = prec !== undefined ? arg.slice(0, Number(prec)) : arg; break;
        case 'b': s = escapes(arg).text; break;
        case 'c': s = arg.slice(0, 1); break;
        case 'f': s = (Number(arg) || 0).toFixed(prec !== undefined ? Number(prec) : 6); break;
        default: {
          const n = Math.trunc(Number(arg.startsWith("'") ? arg.charCodeAt(1) : arg) || 0);
          s = conv === 'x' ? (n >>> 0).toString(16) : conv === 'X' ? (n >>> 0).toString(16).toUpperCase() : conv === 'o' ? (n >>> 0).toString(8) : String(n);
        }
      }
      const w = Math.min(Number(width ?? 0), 1024);
      if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && conv !== 's' ? '0' : ' ');
      return s;
    });
    if (ai === used || ai >= args.length) break;
  }
  return escapes(out).text;
}

function printf(c: CommandContext): number {
  if (c.args.length === 0) {
    c.err(`${c.sh.errPrefix()}printf: usage: printf [-v var] format [arguments]\n`);
    return 2;
  }
  c.out(formatPrintf(c.args[0]!, c.args.slice(1)));
  return 0;
}

function test(c: CommandContext): number {
  const args = c.name === '[' ? c.args.slice(0, -1) : c.args;
  if (c.name === '[' && c.args[c.args.length - 1] !== ']') {
    c.err(`${c.sh.errPrefix()}[: missing \`]'\n`);
    return 2;
  }
  const sh = c.sh;
  const unary = (op: string, v: string): boolean => {
    const node = sh.safeLookup(sh.resolve(v), op !== '-L' && op !== '-h');
    switch (op) {
      case '-e': case '-a': return !!node;
      case '-f': return node?.kind === 'file';
      case '-d': return node?.kind === 'dir';
      case '-L': case '-h': return node?.kind === 'link';
      case '-s': return node?.kind === 'file' && readContent(node).length > 0;
      case '-r': return !!node && sh.vfs.canRead(node, sh.identity);
      case '-w': return !!node && sh.vfs.canWrite(node, sh.identity);
      case '-x': return !!node && sh.vfs.canExecute(node, sh.identity);
      case '-c': return node?.kind === 'dev';
      case '-z': return v.length === 0;
      case '-n': return v.length > 0;
      default: return false;
    }
  };
  const binary = (a: string, op: string, b: string): boolean | undefined => {
    switch (op) {
      case '=': case '==': return a === b;
      case '!=': return a !== b;
      case '-eq': return Number(a) === Number(b);
      case '-ne': return Number(a) !== Number(b);
      case '-lt': return Number(a) < Number(b);
      case '-le': return Number(a) <= Number(b);
      case '-gt': return Number(a) > Number(b);
      case '-ge': return Number(a) >= Number(b);
      default: return undefined;
    }
  };
  const evalExpr = (a: string[]): boolean => {
    const or = a.indexOf('-o');
    if (or > 0) return evalExpr(a.slice(0, or)) || evalExpr(a.slice(or + 1));
    const and = a.indexOf('-a');
    if (and > 0 && a.length > 2) return evalExpr(a.slice(0, and)) && evalExpr(a.slice(and + 1));
    if (a[0] === '!') return !evalExpr(a.slice(1));
    if (a.length === 0) return false;
    if (a.length === 1) return a[0]!.length > 0;
    if (a.length === 2) return unary(a[0]!, a[1]!);
    return binary(a[0]!, a[1]!, a[2]!) ?? false;
  };
  return evalExpr(args) ? 0 : 1;
}

function history(c: CommandContext): number {
  const sh = c.sh;
  if (c.args.includes('-c')) {
    sh.clearHistory();
    return 0;
  }
  if (c.args.some((a) => a.startsWith('-'))) return 0;
  const n = c.args[0] ? Math.max(0, Number(c.args[0]) || 0) : sh.history.length;
  const start = sh.history.length - Math.min(n, sh.history.length);
  let text = '';
  for (let i = start; i < sh.history.length; i++) text += `${String(i + 1).padStart(5)}  ${sh.history[i]}\n`;
  c.out(text);
  return 0;
}

function exportCmd(c: CommandContext): number {
  if (c.args.length === 0 || c.args[0] === '-p') {
    const lines = [...c.sh.env.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `declare -x ${k}="${v.replace(/(["\\$`])/g, '\\$1')}"`);
    c.out(lines.join('\n') + '\n');
    return 0;
  }
  for (const a of c.args) {
    if (a.startsWith('-')) continue;
    const eq = a.indexOf('=');
    const name = eq === -1 ? a : a.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      c.err(`${c.sh.errPrefix()}export: \`${a}': not a valid identifier\n`);
      return 1;
    }
    if (eq !== -1) c.sh.env.set(name, a.slice(eq + 1));
    else if (!c.sh.env.has(name)) c.sh.env.set(name, '');
  }
  return 0;
}

function unset(c: CommandContext): number {
  for (const a of c.args) if (!a.startsWith('-')) c.sh.env.delete(a);
  return 0;
}

function exit(c: CommandContext): number {
  const sh = c.sh;
  const status = c.args[0] !== undefined ? (Number(c.args[0]) & 0xff) || 0 : sh.status;
  if (sh.host.mode === 'shell' && sh.host.tty !== '?' && c.name === 'exit' && sh.user !== sh.loginUser) {
    // Leaving `su`: back to the login user.
    sh.become(sh.loginUser, false);
    sh.cwd = sh.loginUser.home;
    return 0;
  }
  // Only an interactive login shell says goodbye.
  if (sh.host.mode === 'shell' && sh.host.tty !== '?') c.out('logout\n');
  return sh.exit(status);
}

function alias(c: CommandContext): number {
  if (c.args.length === 0) {
    c.out([...c.sh.aliases.entries()].map(([k, v]) => `alias ${k}='${v}'`).join('\n') + (c.sh.aliases.size ? '\n' : ''));
    return 0;
  }
  for (const a of c.args) {
    const eq = a.indexOf('=');
    if (eq === -1) {
      const v = c.sh.aliases.get(a);
      if (v === undefined) { c.err(`${c.sh.errPrefix()}alias: ${a}: not found\n`); return 1; }
      c.out(`alias ${a}='${v}'\n`);
    } else if (c.sh.aliases.size < 64) c.sh.aliases.set(a.slice(0, eq), a.slice(eq + 1).slice(0, 512));
  }
  return 0;
}

async function source(c: CommandContext): Promise<number> {
  const sh = c.sh;
  const path = c.args[0];
  if (!path) {
    c.err(`${sh.errPrefix()}${c.name}: filename argument required\n`);
    return 2;
  }
  const node = sh.safeLookup(sh.resolve(path));
  if (!node || node.kind !== 'file') {
    c.err(`${sh.errPrefix()}${path}: No such file or directory\n`);
    return 1;
  }
  const text = readContent(node);
  return sh.nested(() => sh.evaluate(text, { write: c.out }, { write: c.err }, c.stdin), 0);
}

async function evalCmd(c: CommandContext): Promise<number> {
  const sh = c.sh;
  return sh.nested(() => sh.evaluate(c.args.join(' '), { write: c.out }, { write: c.err }, c.stdin), 0);
}

async function exec(c: CommandContext): Promise<number> {
  if (c.args.length === 0) return 0;
  const status = await c.sh.invoke(c.args, c.stdin, { write: c.out }, { write: c.err });
  return c.sh.exit(status);
}

/** Where a name resolves: 'builtin', an absolute path, or undefined. */
export function locate(c: CommandContext, name: string): string | undefined {
  if (BUILTIN_NAMES.has(name)) return 'builtin';
  if (name.includes('/')) return c.sh.safeLookup(c.sh.resolve(name)) ? name : undefined;
  for (const dir of (c.sh.env.get('PATH') ?? '').split(':')) {
    if (!dir) continue;
    const node = c.sh.safeLookup(`${dir}/${name}`);
    if (node && node.kind !== 'dir') return `${dir}/${name}`;
  }
  return undefined;
}

function type(c: CommandContext): number {
  let status = 0;
  for (const name of c.args.filter((a) => !a.startsWith('-'))) {
    const alias = c.sh.aliases.get(name);
    const where = locate(c, name);
    if (alias !== undefined) c.out(`${name} is aliased to \`${alias}'\n`);
    else if (where === 'builtin') c.out(`${name} is a shell builtin\n`);
    else if (where) c.out(`${name} is ${where}\n`);
    else { c.err(`${c.sh.errPrefix()}type: ${name}: not found\n`); status = 1; }
  }
  return status;
}

async function command(c: CommandContext): Promise<number> {
  if (c.args[0] === '-v' || c.args[0] === '-V') {
    let status = 0;
    for (const name of c.args.slice(1)) {
      const where = locate(c, name);
      if (!where) { status = 1; continue; }
      c.out((where === 'builtin' ? name : where) + '\n');
    }
    return status;
  }
  if (c.args.length === 0) return 0;
  return c.sh.invoke(c.args, c.stdin, { write: c.out }, { write: c.err });
}

function read(c: CommandContext): number {
  const names = c.args.filter((a, i) => !a.startsWith('-') && !['-p', '-t', '-n', '-u', '-d'].includes(c.args[i - 1] ?? ''));
  const line = c.stdin.split('\n')[0] ?? '';
  if (c.stdin === '') return 1;
  const words = line.trim().split(/\s+/);
  const vars = names.length ? names : ['REPLY'];
  vars.forEach((v, i) => c.sh.env.set(v, i === vars.length - 1 ? words.slice(i).join(' ') : (words[i] ?? '')));
  return 0;
}

function kill(c: CommandContext): number {
  const pids = c.args.filter((a) => !a.startsWith('-') && a !== 's' && a !== 'n');
  if (c.args[0] === '-l') {
    c.out(' 1) SIGHUP\t 2) SIGINT\t 3) SIGQUIT\t 4) SIGILL\t 5) SIGTRAP\n 6) SIGABRT\t 7) SIGBUS\t 8) SIGFPE\t 9) SIGKILL\t10) SIGUSR1\n');
    return 0;
  }
  if (pids.length === 0) {
    c.err(`${c.sh.errPrefix()}kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]\n`);
    return 2;
  }
  let status = 0;
  for (const p of pids) {
    if (!/^\d+$/.test(p)) { c.err(`${c.sh.errPrefix()}kill: ${p}: arguments must be process or job IDs\n`); status = 1; continue; }
    if (Number(p) === c.sh.pid) continue;
    if (c.sh.user.uid !== 0 || Number(p) > 600) { c.err(`${c.sh.errPrefix()}kill: (${p}) - ${c.sh.user.uid === 0 ? 'No such process' : 'Operation not permitted'}\n`); status = 1; }
  }
  return status;
}

function umask(c: CommandContext): number {
  if (c.args.length === 0) c.out(c.sh.user.uid === 0 ? '0022\n' : '0002\n');
  return 0;
}

function ulimit(c: CommandContext): number {
  if (c.args.includes('-a')) {
    c.out('real-time non-blocking time  (microseconds, -R) unlimited\ncore file size              (blocks, -c) 0\ndata seg size               (kbytes, -d) unlimited\n' +
      'file size                   (blocks, -f) unlimited\nmax locked memory           (kbytes, -l) 8192\nopen files                          (-n) 1024\n' +
      'stack size                  (kbytes, -s) 8192\ncpu time                   (seconds, -t) unlimited\nmax user processes                  (-u) 15432\n');
  } else if (c.args.length === 0 || c.args.every((a) => a.startsWith('-'))) c.out(c.args.includes('-n') ? '1024\n' : 'unlimited\n');
  return 0;
}

function set(c: CommandContext): number {
  if (c.args.length === 0) {
    const lines = [...c.sh.env.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${/^[\w./:-]*$/.test(v) ? v : `'${v.replace(/'/g, "'\\''")}'`}`);
    c.out(lines.join('\n') + '\n');
  }
  return 0;
}

function pwd(c: CommandContext): number {
  c.out(c.sh.cwd + '\n');
  return 0;
}

async function timeCmd(c: CommandContext): Promise<number> {
  const start = Date.now();
  const status = c.args.length ? await c.sh.invoke(c.args, c.stdin, { write: c.out }, { write: c.err }) : 0;
  const secs = ((Date.now() - start) / 1000 + 0.001).toFixed(3);
  c.err(`\nreal\t0m${secs}s\nuser\t0m0.001s\nsys\t0m0.000s\n`);
  return status;
}

const ok: CommandFn = () => 0;

export const BUILTINS: Record<string, CommandFn> = {
  cd, pwd, echo, printf, history, export: exportCmd, unset, exit, logout: exit, alias, source, '.': source, eval: evalCmd,
  exec, type, command, read, kill, umask, ulimit, set, test, '[': test, time: timeCmd,
  true: ok, ':': ok, false: () => 1, unalias: (c) => { for (const a of c.args) c.sh.aliases.delete(a); return 0; },
  hash: ok, jobs: ok, wait: ok, shopt: ok, enable: ok, builtin: (c) => (c.args.length ? c.sh.invoke(c.args, c.stdin, { write: c.out }, { write: c.err }) : 0),
  declare: (c) => exportCmd({ ...c, args: c.args.filter((a) => !a.startsWith('-')) }), typeset: ok, local: ok, readonly: ok, trap: ok,
  times: (c) => { c.out('0m0.012s 0m0.004s\n0m0.000s 0m0.000s\n'); return 0; }, fg: (c) => { c.err(`${c.sh.errPrefix()}fg: current: no such job\n`); return 1; },
  bg: (c) => { c.err(`${c.sh.errPrefix()}bg: current: no such job\n`); return 1; }, disown: ok, shift: ok, return: ok, break: ok, continue: ok,
  help: (c) => { c.out(`GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)\nThese shell commands are defined internally.  Type \`help' to see this list.\n`); return 0; },
  let: ok, compgen: ok, complete: ok, suspend: ok, getopts: () => 1, mapfile: ok, dirs: (c) => { c.out(c.sh.cwd + '\n'); return 0; }, pushd: cd, popd: ok,
};

/** Used by `sh -c`, `bash -c` and friends: runs text in this same emulated shell. */
export async function runInline(c: CommandContext, text: string): Promise<number> {
  const cap = new Capture(c.sh.limits.maxOutput);
  const status = await c.sh.nested(() => c.sh.evaluate(text, cap, { write: c.err }, c.stdin), 0);
  c.out(cap.text);
  return status;
}
