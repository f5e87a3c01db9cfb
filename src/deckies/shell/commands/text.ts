// Text filters for pipelines: grep, sort, uniq, cut, tr, sed, awk, xargs, tee … Patterns from the
// attacker never reach RegExp: grep and sed translate them to linear-time wildcard matching.
import { globMatch } from '../glob.ts';
import type { CommandContext, CommandFn } from '../types.ts';
import { parseFlags, readFile } from './fs.ts';

/** Escapes glob metacharacters so that text matches literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\\]/g, '\\$&');
}

/**
 * Turns a grep pattern into wildcard patterns (one per alternative): `.` → `?`, `.*` → `*`,
 * bracket expressions kept, ^/$ anchor; anything else matches literally.
 */
export function grepPatterns(pattern: string, extended: boolean, fixed: boolean, ignoreCase: boolean): string[] {
  const src = ignoreCase ? pattern.toLowerCase() : pattern;
  if (fixed) return src.split('\n').map((p) => `*${globEscape(p)}*`);
  const alternatives = extended ? src.split('|') : src.split('\\|');
  return alternatives.map((alt) => {
    let p = alt;
    const start = p.startsWith('^');
    if (start) p = p.slice(1);
    const end = p.endsWith('$') && !p.endsWith('\\$');
    if (end) p = p.slice(0, -1);
    let out = '';
    for (let i = 0; i < p.length; i++) {
      const ch = p[i]!;
      if (ch === '\\' && i + 1 < p.length) { out += globEscape(p[++i]!); continue; }
      if (ch === '.' && p[i + 1] === '*') { out += '*'; i++; continue; }
      if (ch === '.') { out += '?'; continue; }
      if (ch === '[') {
        const close = p.indexOf(']', i + 2);
        if (close !== -1) { out += p.slice(i, close + 1); i = close; continue; }
      }
      if ((ch === '*' || ch === '+' || ch === '?') && out.length > 0) {
        // x* / x+ / x?: approximate with a wildcard run.
        out += '*';
        continue;
      }
      if (extended && (ch === '(' || ch === ')')) continue;
      out += globEscape(ch);
    }
    return (start ? '' : '*') + out + (end ? '' : '*');
  });
}

function grep(c: CommandContext): number {
  const flags = new Set<string>();
  const patterns: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (a === '-e') { patterns.push(c.args[++i] ?? ''); continue; }
    if (a === '-A' || a === '-B' || a === '-C' || a === '-m' || a === '--color') { if (!a.startsWith('--')) i++; continue; }
    if (a.startsWith('--')) { if (a === '--ignore-case') flags.add('i'); continue; }
    if (a.startsWith('-') && a.length > 1) { for (const f of a.slice(1)) flags.add(f); continue; }
    if (patterns.length === 0 && !c.args.includes('-e')) patterns.push(a);
    else files.push(a);
  }
  if (patterns.length === 0) {
    c.err(`Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.\n`);
    return 2;
  }
  const extended = flags.has('E') || c.name === 'egrep';
  const fixed = flags.has('F') || c.name === 'fgrep';
  const icase = flags.has('i');
  const globs = patterns.flatMap((p) => grepPatterns(p, extended, fixed, icase));
  const word = flags.has('w');
  const matches = (line: string): boolean => {
    const l = icase ? line.toLowerCase() : line;
    const hit = globs.some((g) => globMatch(g, l));
    if (!hit || !word) return hit;
    return patterns.some((p) => new Set(l.split(/[^A-Za-z0-9_]+/)).has(icase ? p.toLowerCase() : p));
  };
  const invert = flags.has('v');
  const inputs = files.length ? files : ['-'];
  const showName = inputs.length > 1 && !flags.has('h') || flags.has('H');
  let found = false;
  let status = 0;
  let out = '';
  for (const f of inputs) {
    const data = readFile(c, 'grep', f);
    if (data === undefined) { status = 2; continue; }
    const lines = data.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    let count = 0;
    lines.forEach((line, idx) => {
      if (matches(line) === invert) return;
      count++;
      found = true;
      if (flags.has('c') || flags.has('l') || flags.has('q')) return;
      out += (showName ? `${f}:` : '') + (flags.has('n') ? `${idx + 1}:` : '') + line + '\n';
    });
    if (flags.has('c')) out += (showName ? `${f}:` : '') + count + '\n';
    if (flags.has('l') && count) out += f + '\n';
  }
  if (!flags.has('q')) c.out(out);
  return status === 2 && !found ? 2 : found ? 0 : 1;
}

function lines(text: string): string[] {
  const l = text.split('\n');
  if (l[l.length - 1] === '') l.pop();
  return l;
}

function input(c: CommandContext, operands: string[]): string | undefined {
  if (operands.length === 0) return c.stdin;
  let text = '';
  for (const f of operands) {
    const d = readFile(c, c.name, f);
    if (d === undefined) return undefined;
    text += d;
  }
  return text;
}

function sort(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args.filter((a, i) => !['-k', '-t'].includes(c.args[i - 1] ?? '') && a !== '-k' && a !== '-t'));
  const text = input(c, operands);
  if (text === undefined) return 2;
  let l = lines(text);
  if (flags.has('n') || flags.has('h')) l.sort((a, b) => (parseFloat(a) || 0) - (parseFloat(b) || 0));
  else l.sort((a, b) => (flags.has('f') ? a.toLowerCase().localeCompare(b.toLowerCase()) : a < b ? -1 : a > b ? 1 : 0));
  if (flags.has('r')) l.reverse();
  if (flags.has('u')) l = l.filter((v, i) => i === 0 || v !== l[i - 1]);
  c.out(l.map((x) => x + '\n').join(''));
  return 0;
}

function uniq(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  const text = input(c, operands.slice(0, 1));
  if (text === undefined) return 1;
  const groups: [string, number][] = [];
  for (const line of lines(text)) {
    const last = groups[groups.length - 1];
    if (last && last[0] === line) last[1]++;
    else groups.push([line, 1]);
  }
  c.out(groups
    .filter(([, n]) => (flags.has('d') ? n > 1 : flags.has('u') ? n === 1 : true))
    .map(([l, n]) => (flags.has('c') ? `${String(n).padStart(7)} ${l}` : l) + '\n').join(''));
  return 0;
}

/** Parses cut/awk field lists like 1,3-5,7-. */
function fieldList(spec: string): (n: number) => boolean {
  const ranges = spec.split(',').map((r) => {
    const [a, b] = r.split('-');
    const lo = a === '' || a === undefined ? 1 : Number(a);
    const hi = b === undefined ? lo : b === '' ? Infinity : Number(b);
    return [lo, hi] as const;
  });
  return (n) => ranges.some(([lo, hi]) => n >= lo && n <= hi);
}

function cut(c: CommandContext): number {
  let delim = '\t';
  let fields: string | undefined;
  let chars: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (a === '-d') delim = c.args[++i] ?? '\t';
    else if (a.startsWith('-d')) delim = a.slice(2);
    else if (a === '-f') fields = c.args[++i];
    else if (a.startsWith('-f')) fields = a.slice(2);
    else if (a === '-c' || a === '-b') chars = c.args[++i];
    else if (a.startsWith('-c') || a.startsWith('-b')) chars = a.slice(2);
    else files.push(a);
  }
  if (!fields && !chars) { c.err("cut: you must specify a list of bytes, characters, or fields\nTry 'cut --help' for more information.\n"); return 1; }
  const text = input(c, files);
  if (text === undefined) return 1;
  const pick = fieldList(fields ?? chars!);
  c.out(lines(text).map((line) => {
    if (chars) return [...line].filter((_, i) => pick(i + 1)).join('');
    if (!line.includes(delim[0] ?? '\t')) return line;
    return line.split(delim[0] ?? '\t').filter((_, i) => pick(i + 1)).join(delim[0]);
  }).map((l) => l + '\n').join(''));
  return 0;
}

function expandSet(set: string): string {
  const classes: Record<string, string> = {
    '[:lower:]': 'abcdefghijklmnopqrstuvwxyz', '[:upper:]': 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '[:digit:]': '0123456789',
    '[:space:]': ' \t\n\r\v\f', '[:alpha:]': 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
    '[:alnum:]': 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  };
  let s = set;
  for (const [k, v] of Object.entries(classes)) s = s.split(k).join(v);
  s = s.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\r/g, '\r');
  let out = '';
  for (let i = 0; i < s.length && out.length < 1024; i++) {
    if (s[i + 1] === '-' && s[i + 2] !== undefined) {
      const lo = s.charCodeAt(i);
      const hi = s.charCodeAt(i + 2);
      for (let code = lo; code <= hi && out.length < 1024; code++) out += String.fromCharCode(code);
      i += 2;
    } else out += s[i];
  }
  return out;
}

function tr(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  const from = expandSet(operands[0] ?? '');
  const to = expandSet(operands[1] ?? '');
  if (!operands[0]) { c.err("tr: missing operand\nTry 'tr --help' for more information.\n"); return 1; }
  let out = '';
  for (const ch of c.stdin) {
    const idx = from.indexOf(ch);
    const inSet = flags.has('c') ? idx === -1 : idx !== -1;
    if (flags.has('d')) { if (!inSet) out += ch; continue; }
    if (!inSet) { out += ch; continue; }
    const rep = flags.has('c') ? (to[to.length - 1] ?? ch) : (to[Math.min(idx, to.length - 1)] ?? ch);
    if (flags.has('s') && out.endsWith(rep)) continue;
    out += rep;
  }
  c.out(out);
  return 0;
}

/** Splits `s<d>from<d>to<d>flags` on unescaped delimiters; `from` is taken literally. */
function parseSubstitute(cmd: string): { from: string; to: string; global: boolean } | undefined {
  if (cmd[0] !== 's' || cmd.length < 4) return undefined;
  const d = cmd[1]!;
  const parts: string[] = [''];
  for (let i = 2; i < cmd.length; i++) {
    const ch = cmd[i]!;
    if (ch === '\\' && i + 1 < cmd.length) { parts[parts.length - 1] += cmd[i + 1] === d ? d : cmd[i + 1]; i++; continue; }
    if (ch === d) { parts.push(''); continue; }
    parts[parts.length - 1] += ch;
  }
  if (parts.length !== 3 || !/^[gip0-9]*$/.test(parts[2]!)) return undefined;
  return { from: parts[0]!, to: parts[1]!, global: parts[2]!.includes('g') };
}

/** sed: literal s/from/to/[g], Nd, Np (with -n), $d; anything else passes input through. */
function sed(c: CommandContext): number {
  let quiet = false;
  const scripts: string[] = [];
  const files: string[] = [];
  let inPlace = false;
  for (let i = 0; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (a === '-n') quiet = true;
    else if (a === '-e') scripts.push(c.args[++i] ?? '');
    else if (a.startsWith('-i')) inPlace = true;
    else if (a === '-E' || a === '-r') continue;
    else if (scripts.length === 0) scripts.push(a);
    else files.push(a);
  }
  const text = input(c, files);
  if (text === undefined) return 2;
  let ls = lines(text);
  const printed: string[] = [];
  for (const script of scripts) {
    for (const cmd of script.split(';').map((s) => s.trim()).filter(Boolean)) {
      const sub = parseSubstitute(cmd);
      if (sub) {
        const { from, to, global } = sub;
        if (from) ls = ls.map((l) => (global ? l.split(from).join(to) : l.replace(from, () => to)));
        continue;
      }
      const addr = /^(\d+|\$)(?:,(\d+|\$))?([dp])$/.exec(cmd);
      if (addr) {
        const n = (v: string): number => (v === '$' ? ls.length : Number(v));
        const lo = n(addr[1]!);
        const hi = addr[2] ? n(addr[2]) : lo;
        if (addr[3] === 'd') ls = ls.filter((_, i) => i + 1 < lo || i + 1 > hi);
        else printed.push(...ls.filter((_, i) => i + 1 >= lo && i + 1 <= hi));
      }
    }
  }
  const result = (quiet ? printed : ls).map((l) => l + '\n').join('');
  if (inPlace && files.length) {
    try {
      c.sh.vfs.writeFile(c.sh.resolve(files[0]!), result, c.sh.identity);
    } catch (e) {
      c.err(`sed: couldn't open temporary file ${files[0]}: ${c.sh.fsMessage(e)}\n`);
      return 4;
    }
    return 0;
  }
  c.out(result);
  return 0;
}

/** Splits an awk program `[/re/] [{ action }]` without regular expressions (attacker text). */
function parseAwk(program: string): { pattern?: string; action: string } | undefined {
  let rest = program.trim();
  let pattern: string | undefined;
  if (rest.startsWith('/')) {
    let i = 1;
    while (i < rest.length && rest[i] !== '/') i += rest[i] === '\\' ? 2 : 1;
    if (i >= rest.length) return undefined;
    pattern = rest.slice(1, i);
    rest = rest.slice(i + 1).trim();
  }
  if (rest === '') return pattern === undefined ? undefined : { pattern, action: 'print $0' };
  if (!rest.startsWith('{') || !rest.endsWith('}')) return undefined;
  let action = rest.slice(1, -1).trim();
  while (action.endsWith(';')) action = action.slice(0, -1).trimEnd();
  const out: { pattern?: string; action: string } = { action: action || 'print $0' };
  if (pattern !== undefined) out.pattern = pattern;
  return out;
}

/** awk: `[/pattern/] { print items }` with $N, $NF, NF, NR, "strings" and -F. */
function awk(c: CommandContext): number {
  let fs: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (a === '-F') fs = c.args[++i];
    else if (a.startsWith('-F')) fs = a.slice(2);
    else rest.push(a);
  }
  const program = rest[0];
  if (program === undefined) {
    c.err('usage: awk [-F value] [-v var=value] [prog | -f progfile] [file ...]\n');
    return 2;
  }
  const text = input(c, rest.slice(1));
  if (text === undefined) return 2;
  const parsed = parseAwk(program);
  if (!parsed) {
    c.err(`awk: line 1: syntax error at or near ${program.trim().slice(0, 1) || 'end of file'}\n`);
    return 2;
  }
  const filter = parsed.pattern !== undefined ? grepPatterns(parsed.pattern, true, false, false) : undefined;
  const action = parsed.action;
  const printArgs = /^print\s*(.*)$/s.exec(action);
  let out = '';
  lines(text).forEach((line, idx) => {
    if (filter && !filter.some((g) => globMatch(g, line))) return;
    if (!printArgs) return;
    const fields = fs === undefined ? line.trim().split(/\s+/).filter(Boolean) : line.split(fs.length === 1 ? fs : fs[0]!);
    const value = (tok: string): string => {
      if (tok.startsWith('"')) return tok.slice(1, -1).replace(/\\t/g, '\t').replace(/\\n/g, '\n');
      if (tok === 'NF') return String(fields.length);
      if (tok === 'NR') return String(idx + 1);
      const f = /^\$(NF|\d+)$/.exec(tok);
      if (f) return f[1] === 'NF' ? (fields[fields.length - 1] ?? '') : f[1] === '0' ? line : (fields[Number(f[1]) - 1] ?? '');
      return '';
    };
    const items = (printArgs[1]!.trim() || '$0').split(/\s*,\s*/);
    out += items.map((item) => (item.match(/"[^"]*"|\$?[A-Za-z0-9_]+/g) ?? []).map(value).join('')).join(' ') + '\n';
  });
  c.out(out);
  return 0;
}

async function xargs(c: CommandContext): Promise<number> {
  const { operands } = parseFlags(c.args.filter((a, i) => !['-n', '-I', '-P', '-d'].includes(c.args[i - 1] ?? '') && !['-n', '-I', '-P', '-d'].includes(a)));
  const items = c.stdin.split(/\s+/).filter(Boolean).slice(0, 1000);
  const cmd = operands.length ? operands : ['echo'];
  if (items.length === 0 && !c.args.includes('-r')) return c.sh.invoke(cmd, '', { write: c.out }, { write: c.err });
  if (items.length === 0) return 0;
  return c.sh.invoke([...cmd, ...items], '', { write: c.out }, { write: c.err });
}

function tee(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  let status = 0;
  for (const f of operands) {
    try {
      c.sh.vfs.writeFile(c.sh.resolve(f), c.stdin, c.sh.identity, flags.has('a'));
    } catch (e) {
      c.err(`tee: ${f}: ${c.sh.fsMessage(e)}\n`);
      status = 1;
    }
  }
  c.out(c.stdin);
  return status;
}

function seq(c: CommandContext): number {
  const nums = c.args.filter((a) => /^-?\d+$/.test(a)).map(Number);
  const [first, step, last] = nums.length === 1 ? [1, 1, nums[0]!] : nums.length === 2 ? [nums[0]!, 1, nums[1]!] : [nums[0] ?? 1, nums[1] ?? 1, nums[2] ?? 1];
  if (step === 0) return 1;
  let out = '';
  for (let v = first, n = 0; (step > 0 ? v <= last : v >= last) && n < 10_000; v += step, n++) out += v + '\n';
  c.out(out);
  return 0;
}

function hexdump(c: CommandContext): number {
  const { operands } = parseFlags(c.args);
  const data = Buffer.from(input(c, operands) ?? '', 'latin1').subarray(0, 64 * 1024);
  let out = '';
  for (let off = 0; off < data.length; off += 16) {
    const row = data.subarray(off, off + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    if (c.name === 'xxd') out += `${off.toString(16).padStart(8, '0')}: ${hex.join('').replace(/(.{4})/g, '$1 ').padEnd(40)} ${ascii}\n`;
    else out += `${off.toString(16).padStart(8, '0')}  ${hex.slice(0, 8).join(' ').padEnd(23)}  ${hex.slice(8).join(' ').padEnd(23)}  |${ascii}|\n`;
  }
  if (c.name !== 'xxd') out += `${data.length.toString(16).padStart(8, '0')}\n`;
  c.out(out);
  return 0;
}

function strings(c: CommandContext): number {
  const text = input(c, parseFlags(c.args).operands);
  if (text === undefined) return 1;
  c.out((text.match(/[\x20-\x7e\t]{4,}/g) ?? []).map((s) => s + '\n').join(''));
  return 0;
}

export const TEXT_COMMANDS: Record<string, CommandFn> = {
  grep, egrep: grep, fgrep: grep, sort, uniq, cut, tr, sed, awk, gawk: awk, mawk: awk, xargs, tee, seq,
  hexdump, xxd: hexdump, od: hexdump, strings,
  rev: (c) => { c.out(lines(input(c, parseFlags(c.args).operands) ?? '').map((l) => [...l].reverse().join('') + '\n').join('')); return 0; },
  nl: (c) => { c.out(lines(input(c, parseFlags(c.args).operands) ?? '').map((l, i) => `${String(i + 1).padStart(6)}\t${l}\n`).join('')); return 0; },
  yes: (c) => { c.out(`${c.args.join(' ') || 'y'}\n`.repeat(Math.floor(c.sh.limits.maxOutput / Math.max(2, c.args.join(' ').length + 1)))); return 130; },
};
