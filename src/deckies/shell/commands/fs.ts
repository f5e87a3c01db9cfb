// File commands over the fake filesystem: ls, cat, touch, mkdir, rm, cp, mv, chmod … Writes land
// in the session's own overlay; nothing reaches the real disk.
import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, nodeSize, readContent, type Node } from '../vfs.ts';
import { userById } from '../profile.ts';
import type { CommandContext, CommandFn } from '../types.ts';
import { globMatch } from '../glob.ts';

/** Splits `-abc` style flags from operands; `--` ends options. Long options are returned as-is. */
export function parseFlags(args: string[]): { flags: Set<string>; long: string[]; operands: string[] } {
  const flags = new Set<string>();
  const long: string[] = [];
  const operands: string[] = [];
  let done = false;
  for (const a of args) {
    if (done || a === '-' || !a.startsWith('-')) operands.push(a);
    else if (a === '--') done = true;
    else if (a.startsWith('--')) long.push(a);
    else for (const ch of a.slice(1)) flags.add(ch);
  }
  return { flags, long, operands };
}

function modeString(node: Node): string {
  const type = node.kind === 'dir' ? 'd' : node.kind === 'link' ? 'l' : node.kind === 'dev' ? 'c' : '-';
  const m = node.mode;
  const tri = (shift: number, special: number, ch: string): string => {
    const r = m & (4 << shift) ? 'r' : '-';
    const w = m & (2 << shift) ? 'w' : '-';
    const x = m & (1 << shift);
    const s = m & special;
    return r + w + (s ? (x ? ch : ch.toUpperCase()) : x ? 'x' : '-');
  };
  return type + tri(6, 0o4000, 's') + tri(3, 0o2000, 's') + tri(0, 0o1000, 't');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function lsDate(ms: number): string {
  const d = new Date(ms);
  const mon = MONTHS[d.getUTCMonth()];
  const day = String(d.getUTCDate()).padStart(2);
  if (Math.abs(Date.now() - ms) < 180 * 86_400_000) {
    return `${mon} ${day} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  }
  return `${mon} ${day}  ${d.getUTCFullYear()}`;
}

export function human(n: number): string {
  if (n < 1024) return String(n);
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return (v < 10 ? (Math.ceil(v * 10) / 10).toFixed(1) : String(Math.ceil(v))) + units[u];
}

function ownerName(c: CommandContext, uid: number): string {
  if (uid === 0) return 'root';
  return userById(c.sh.profile, uid)?.name ?? String(uid);
}

function groupName(c: CommandContext, gid: number): string {
  if (gid === 0) return 'root';
  if (gid === 42) return 'shadow';
  if (gid === 43) return 'utmp';
  if (gid === 4) return 'adm';
  if (gid === 5) return 'tty';
  return userById(c.sh.profile, gid)?.name ?? String(gid);
}

/** Lays names out in columns like ls does on a terminal. */
function columns(names: string[], width: number): string {
  if (names.length === 0) return '';
  for (let rows = 1; rows <= names.length; rows++) {
    const cols = Math.ceil(names.length / rows);
    const widths: number[] = [];
    for (let col = 0; col < cols; col++) {
      const slice = names.slice(col * rows, col * rows + rows);
      widths.push(Math.max(...slice.map((n) => n.length)) + 2);
    }
    if (widths.reduce((a, b) => a + b, 0) - 2 <= width || rows === names.length) {
      let out = '';
      for (let r = 0; r < rows; r++) {
        const line: string[] = [];
        for (let col = 0; col < cols; col++) {
          const name = names[col * rows + r];
          if (name === undefined) continue;
          const last = col === cols - 1 || names[(col + 1) * rows + r] === undefined;
          line.push(last ? name : name.padEnd(widths[col]!));
        }
        out += line.join('') + '\n';
      }
      return out;
    }
  }
  return names.join('\n') + '\n';
}

function ls(c: CommandContext): number {
  const { flags, long, operands } = parseFlags(c.args);
  const sh = c.sh;
  const longFmt = flags.has('l') || flags.has('n') || flags.has('g') || flags.has('o');
  const all = flags.has('a') || flags.has('f');
  const almost = flags.has('A');
  const humanSizes = flags.has('h') || long.includes('--human-readable');
  const onePer = flags.has('1') || !c.tty;
  const width = Number(sh.env.get('COLUMNS')) || 80;
  let status = 0;
  const targets = operands.length ? operands : ['.'];
  const files: [string, Node][] = [];
  const dirs: [string, string][] = [];
  for (const t of targets) {
    const abs = sh.resolve(t);
    const lnode = sh.safeLookup(abs, false);
    const node = lnode?.kind === 'link' && !longFmt ? sh.safeLookup(abs) : lnode?.kind === 'link' && t.endsWith('/') ? sh.safeLookup(abs) : lnode;
    if (!node) {
      c.err(sh.isBusybox ? `ls: ${t}: No such file or directory\n` : `ls: cannot access '${t}': No such file or directory\n`);
      status = 2;
      continue;
    }
    if (node.kind === 'dir' && !flags.has('d')) dirs.push([t, abs]);
    else files.push([t, node]);
  }
  const sortEntries = (entries: [string, Node][]): [string, Node][] => {
    const sorted = [...entries];
    if (flags.has('t')) sorted.sort((a, b) => b[1].mtime - a[1].mtime);
    else if (flags.has('S')) sorted.sort((a, b) => nodeSize(b[1]) - nodeSize(a[1]));
    else sorted.sort((a, b) => a[0].replace(/^\./, '').localeCompare(b[0].replace(/^\./, ''), 'en', { sensitivity: 'base' }));
    if (flags.has('r')) sorted.reverse();
    return sorted;
  };
  const render = (entries: [string, Node][], withTotal: boolean): string => {
    if (!longFmt) {
      const names = entries.map(([n]) => n);
      return onePer ? names.map((n) => n + '\n').join('') : columns(names, width);
    }
    const rows = entries.map(([name, node]) => {
      const links = node.kind === 'dir' ? 2 + [...node.children.values()].filter((n) => n.kind === 'dir').length : 1;
      const size = node.kind === 'dev' ? '1, 3' : humanSizes ? human(nodeSize(node)) : String(nodeSize(node));
      const owner = flags.has('n') ? String(node.uid) : ownerName(c, node.uid);
      const group = flags.has('n') ? String(node.gid) : groupName(c, node.gid);
      const shown = node.kind === 'link' ? `${name} -> ${node.target}` : name;
      return { mode: modeString(node), links: String(links), owner, group, size, date: lsDate(node.mtime), name: shown };
    });
    const w = (k: 'links' | 'owner' | 'group' | 'size'): number => Math.max(0, ...rows.map((r) => r[k].length));
    let out = '';
    if (withTotal) {
      const blocks = entries.reduce((sum, [, n]) => sum + Math.ceil(nodeSize(n) / 4096) * 4, 0);
      out += `total ${humanSizes ? human(blocks * 1024) : blocks}\n`;
    }
    for (const r of rows) {
      const parts = [r.mode, r.links.padStart(w('links'))];
      if (!flags.has('g')) parts.push(r.owner.padEnd(w('owner')));
      if (!flags.has('o')) parts.push(r.group.padEnd(w('group')));
      parts.push(r.size.padStart(w('size')), r.date, r.name);
      out += parts.join(' ') + '\n';
    }
    return out;
  };
  let text = '';
  if (files.length) text += render(sortEntries(files), false);
  for (const [shown, abs] of dirs) {
    const node = sh.safeLookup(abs)!;
    if (!sh.vfs.canRead(node, sh.identity)) {
      c.err(sh.isBusybox ? `ls: can't open '${shown}': Permission denied\n` : `ls: cannot open directory '${shown}': Permission denied\n`);
      status = 2;
      continue;
    }
    let entries = sh.vfs.list(abs).filter(([n]) => all || almost || !n.startsWith('.'));
    entries = sortEntries(entries);
    if (all) {
      const parent = sh.safeLookup(dirname(abs)) ?? node;
      entries = [['.', node], ['..', parent], ...entries];
    }
    if (dirs.length + files.length > 1) text += `${text ? '\n' : ''}${shown}:\n`;
    text += render(entries, true);
  }
  c.out(text);
  return status;
}

/** Reads a file for a text command; prints the coreutils error and returns undefined on failure. */
export function readFile(c: CommandContext, tool: string, path: string): string | undefined {
  const sh = c.sh;
  if (path === '-') return c.stdin;
  const node = sh.safeLookup(sh.resolve(path));
  const fail = (msg: string): undefined => {
    c.err(sh.isBusybox && tool === 'cat' ? `cat: can't open '${path}': ${msg}\n` : `${tool}: ${path}: ${msg}\n`);
    return undefined;
  };
  if (!node) return fail('No such file or directory');
  if (node.kind === 'dir') return fail('Is a directory');
  if (!sh.vfs.canRead(node, sh.identity)) return fail('Permission denied');
  if (node.kind === 'dev') return node.read === 'null' ? '' : node.read === 'zero' ? '\0'.repeat(4096) : randomBytes(4096).toString('latin1');
  if (node.kind === 'link') return '';
  return readContent(node);
}

function cat(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  let status = 0;
  let text = '';
  for (const f of operands.length ? operands : ['-']) {
    const data = readFile(c, 'cat', f);
    if (data === undefined) status = 1;
    else text += data;
  }
  if (flags.has('n')) {
    const lines = text.split('\n');
    const last = lines.pop();
    text = lines.map((l, i) => `${String(i + 1).padStart(6)}\t${l}`).join('\n') + '\n' + (last ? `${String(lines.length + 1).padStart(6)}\t${last}` : '');
  }
  c.out(text);
  return status;
}

function touch(c: CommandContext): number {
  const { operands } = parseFlags(c.args);
  let status = 0;
  if (operands.length === 0) { c.err("touch: missing file operand\nTry 'touch --help' for more information.\n"); return 1; }
  for (const f of operands) {
    const abs = c.sh.resolve(f);
    try {
      if (c.sh.safeLookup(abs)) c.sh.vfs.update(abs, c.sh.identity, { mtime: Date.now() });
      else c.sh.vfs.writeFile(abs, '', c.sh.identity);
    } catch (e) {
      c.err(`touch: cannot touch '${f}': ${c.sh.fsMessage(e)}\n`);
      status = 1;
    }
  }
  return status;
}

function mkdir(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args.filter((a, i) => a !== '-m' && c.args[i - 1] !== '-m'));
  let status = 0;
  if (operands.length === 0) { c.err("mkdir: missing operand\nTry 'mkdir --help' for more information.\n"); return 1; }
  for (const f of operands) {
    try {
      c.sh.vfs.mkdir(c.sh.resolve(f), c.sh.identity, flags.has('p'));
    } catch (e) {
      c.err(`mkdir: cannot create directory '${f}': ${c.sh.fsMessage(e)}\n`);
      status = 1;
    }
  }
  return status;
}

function rm(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  const force = flags.has('f');
  const recursive = flags.has('r') || flags.has('R');
  let status = 0;
  if (operands.length === 0 && !force) { c.err("rm: missing operand\nTry 'rm --help' for more information.\n"); return 1; }
  for (const f of operands) {
    const abs = c.sh.resolve(f);
    if (abs === '/' && recursive) {
      c.err("rm: it is dangerous to operate recursively on '/'\nrm: use --no-preserve-root to override this failsafe\n");
      status = 1;
      continue;
    }
    const node = c.sh.safeLookup(abs, false);
    if (!node) {
      if (!force) { c.err(`rm: cannot remove '${f}': No such file or directory\n`); status = 1; }
      continue;
    }
    if (node.kind === 'dir' && !recursive) { c.err(`rm: cannot remove '${f}': Is a directory\n`); status = 1; continue; }
    try {
      c.sh.vfs.remove(abs, c.sh.identity, recursive);
    } catch (e) {
      c.err(`rm: cannot remove '${f}': ${c.sh.fsMessage(e)}\n`);
      status = 1;
    }
  }
  return status;
}

function rmdir(c: CommandContext): number {
  let status = 0;
  for (const f of parseFlags(c.args).operands) {
    try {
      c.sh.vfs.rmdir(c.sh.resolve(f), c.sh.identity);
    } catch (e) {
      c.err(`rmdir: failed to remove '${f}': ${c.sh.fsMessage(e)}\n`);
      status = 1;
    }
  }
  return status;
}

/** Applies a chmod mode (octal or symbolic like +x, u+rwx, go-w, a=r). */
export function applyMode(spec: string, mode: number): number | undefined {
  if (/^[0-7]{1,4}$/.test(spec)) return parseInt(spec, 8);
  let m = mode;
  for (const clause of spec.split(',')) {
    const parsed = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (!parsed) return undefined;
    const who = parsed[1] || 'a';
    let bits = 0;
    for (const p of parsed[3]!) {
      const base = p === 'r' ? 4 : p === 'w' ? 2 : p === 'x' || p === 'X' ? 1 : 0;
      if (who.includes('u') || who.includes('a')) bits |= base << 6;
      if (who.includes('g') || who.includes('a')) bits |= base << 3;
      if (who.includes('o') || who.includes('a')) bits |= base;
      if (p === 's') bits |= (who.includes('u') || who.includes('a') ? 0o4000 : 0) | (who.includes('g') || who.includes('a') ? 0o2000 : 0);
      if (p === 't') bits |= 0o1000;
    }
    if (parsed[2] === '+') m |= bits;
    else if (parsed[2] === '-') m &= ~bits;
    else {
      let mask = 0;
      if (who.includes('u') || who.includes('a')) mask |= 0o4700;
      if (who.includes('g') || who.includes('a')) mask |= 0o2070;
      if (who.includes('o') || who.includes('a')) mask |= 0o1007;
      m = (m & ~mask) | bits;
    }
  }
  return m;
}

function chmod(c: CommandContext): number {
  const args = c.args.filter((a) => !/^-[RfvcH]+$/.test(a));
  if (args.length < 2) {
    c.err(args.length === 0 ? "chmod: missing operand\nTry 'chmod --help' for more information.\n" : `chmod: missing operand after '${args[0]}'\nTry 'chmod --help' for more information.\n`);
    return 1;
  }
  const spec = args[0]!;
  let status = 0;
  for (const f of args.slice(1)) {
    const abs = c.sh.resolve(f);
    const node = c.sh.safeLookup(abs);
    if (!node) { c.err(`chmod: cannot access '${f}': No such file or directory\n`); status = 1; continue; }
    const mode = applyMode(spec, node.mode);
    if (mode === undefined) { c.err(`chmod: invalid mode: '${spec}'\nTry 'chmod --help' for more information.\n`); return 1; }
    try {
      c.sh.vfs.update(abs, c.sh.identity, { mode });
    } catch {
      c.err(`chmod: changing permissions of '${f}': Operation not permitted\n`);
      status = 1;
    }
  }
  return status;
}

function chown(c: CommandContext): number {
  const args = c.args.filter((a) => !a.startsWith('-'));
  if (args.length < 2) { c.err(`${c.name}: missing operand\nTry '${c.name} --help' for more information.\n`); return 1; }
  let status = 0;
  const [owner, group] = args[0]!.split(/[:.]/);
  const user = owner ? c.sh.findUser(owner) : undefined;
  if (c.name === 'chown' && owner && !user && !/^\d+$/.test(owner)) { c.err(`chown: invalid user: '${args[0]}'\n`); return 1; }
  for (const f of args.slice(1)) {
    const abs = c.sh.resolve(f);
    if (!c.sh.safeLookup(abs)) { c.err(`${c.name}: cannot access '${f}': No such file or directory\n`); status = 1; continue; }
    if (c.sh.user.uid !== 0) { c.err(`${c.name}: changing ownership of '${f}': Operation not permitted\n`); status = 1; continue; }
    const change: { uid?: number; gid?: number } = {};
    if (c.name === 'chown' && owner) change.uid = user?.uid ?? Number(owner);
    const g = c.name === 'chgrp' ? owner : group;
    if (g) change.gid = c.sh.findUser(g)?.gid ?? (Number(g) || 0);
    c.sh.vfs.update(abs, c.sh.identity, change);
  }
  return status;
}

function cpmv(c: CommandContext): number {
  const { operands } = parseFlags(c.args);
  if (operands.length < 2) {
    c.err(operands.length === 0 ? `${c.name}: missing file operand\n` : `${c.name}: missing destination file operand after '${operands[0]}'\n`);
    return 1;
  }
  const dest = operands[operands.length - 1]!;
  const destAbs = c.sh.resolve(dest);
  const destIsDir = c.sh.safeLookup(destAbs)?.kind === 'dir';
  let status = 0;
  for (const src of operands.slice(0, -1)) {
    const srcAbs = c.sh.resolve(src);
    const target = destIsDir ? `${destAbs === '/' ? '' : destAbs}/${basename(srcAbs)}` : destAbs;
    try {
      if (c.name === 'mv') c.sh.vfs.move(srcAbs, target, c.sh.identity);
      else {
        const node = c.sh.safeLookup(srcAbs);
        if (node?.kind === 'dir') { c.err(`cp: -r not specified; omitting directory '${src}'\n`); status = 1; continue; }
        c.sh.vfs.copy(srcAbs, target, c.sh.identity);
      }
    } catch (e) {
      const msg = c.sh.fsMessage(e);
      c.err(c.name === 'mv' ? `mv: cannot move '${src}' to '${dest}': ${msg}\n` : msg === 'No such file or directory' && !c.sh.safeLookup(srcAbs) ? `cp: cannot stat '${src}': ${msg}\n` : `cp: cannot create regular file '${dest}': ${msg}\n`);
      status = 1;
    }
  }
  return status;
}

function ln(c: CommandContext): number {
  const { operands } = parseFlags(c.args);
  if (operands.length < 2) { c.err("ln: missing file operand\nTry 'ln --help' for more information.\n"); return 1; }
  try {
    c.sh.vfs.writeFile(c.sh.resolve(operands[1]!), '', c.sh.identity);
  } catch (e) {
    c.err(`ln: failed to create symbolic link '${operands[1]}': ${c.sh.fsMessage(e)}\n`);
    return 1;
  }
  return 0;
}

function stat(c: CommandContext): number {
  const { operands } = parseFlags(c.args);
  let status = 0;
  for (const f of operands) {
    const node = c.sh.safeLookup(c.sh.resolve(f), false);
    if (!node) { c.err(`stat: cannot statx '${f}': No such file or directory\n`); status = 1; continue; }
    const kind = node.kind === 'dir' ? 'directory' : node.kind === 'link' ? 'symbolic link' : node.kind === 'dev' ? 'character special file' : nodeSize(node) === 0 ? 'regular empty file' : 'regular file';
    const t = new Date(node.mtime).toISOString().replace('T', ' ').replace('Z', '000000 +0000');
    c.out(`  File: ${f}\n  Size: ${nodeSize(node)}\t\tBlocks: ${Math.ceil(nodeSize(node) / 512)}          IO Block: 4096   ${kind}\n` +
      `Device: 801h/2049d\tInode: ${100000 + (node.mtime % 900000)}     Links: 1\n` +
      `Access: (${(node.mode & 0o7777).toString(8).padStart(4, '0')}/${modeString(node)})  Uid: (${String(node.uid).padStart(5)}/${ownerName(c, node.uid).padStart(8)})   Gid: (${String(node.gid).padStart(5)}/${groupName(c, node.gid).padStart(8)})\n` +
      `Access: ${t}\nModify: ${t}\nChange: ${t}\n Birth: -\n`);
  }
  return status;
}

function fileCmd(c: CommandContext): number {
  for (const f of parseFlags(c.args).operands) {
    const node = c.sh.safeLookup(c.sh.resolve(f));
    if (!node) { c.out(`${f}: cannot open \`${f}' (No such file or directory)\n`); continue; }
    if (node.kind === 'dir') { c.out(`${f}: directory\n`); continue; }
    if (node.kind !== 'file') { c.out(`${f}: character special (1/3)\n`); continue; }
    const data = readContent(node);
    let desc = 'ASCII text';
    if (data.startsWith('\x7fELF')) desc = `ELF 64-bit LSB pie executable, x86-64, version 1 (SYSV), dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2, for GNU/Linux 3.2.0, stripped`;
    else if (data.length === 0) desc = 'empty';
    else if (data.startsWith('#!')) desc = `${/^#!\s*(\S+)/.exec(data)?.[1]?.split('/').pop() ?? 'sh'} script, ASCII text executable`;
    else if (/[^\x09\x0a\x0d\x20-\x7e]/.test(data)) desc = 'data';
    c.out(`${f}: ${desc}\n`);
  }
  return 0;
}

function headTail(c: CommandContext): number {
  let lines = 10;
  let bytes: number | undefined;
  const files: string[] = [];
  for (let i = 0; i < c.args.length; i++) {
    const a = c.args[i]!;
    if (a === '-n' || a === '-c') {
      const v = Number((c.args[++i] ?? '').replace(/^\+/, ''));
      if (a === '-n') lines = Math.abs(v) || 0; else bytes = Math.abs(v) || 0;
    } else if (/^-n\d+$/.test(a)) lines = Number(a.slice(2));
    else if (/^-\d+$/.test(a)) lines = Number(a.slice(1));
    else if (a === '-f' || a === '-F' || a === '-q') continue;
    else files.push(a);
  }
  let status = 0;
  const inputs = files.length ? files : ['-'];
  for (const f of inputs) {
    const data = readFile(c, c.name, f);
    if (data === undefined) { status = 1; continue; }
    if (inputs.length > 1) c.out(`==> ${f} <==\n`);
    if (bytes !== undefined) { c.out(c.name === 'head' ? data.slice(0, bytes) : data.slice(-bytes)); continue; }
    const all = data.split('\n');
    const trailing = all[all.length - 1] === '';
    if (trailing) all.pop();
    const picked = c.name === 'head' ? all.slice(0, lines) : all.slice(Math.max(0, all.length - lines));
    c.out(picked.map((l) => l + '\n').join(''));
  }
  return status;
}

function wc(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  const want = flags.size ? ['l', 'w', 'c', 'm'].filter((f) => flags.has(f)) : ['l', 'w', 'c'];
  const count = (s: string): number[] => want.map((f) => (f === 'l' ? (s.match(/\n/g) ?? []).length : f === 'w' ? s.split(/\s+/).filter(Boolean).length : Buffer.byteLength(s, f === 'c' ? 'latin1' : 'utf8')));
  if (operands.length === 0) {
    const n = count(c.stdin);
    c.out((want.length === 1 ? String(n[0]) : n.map((v) => String(v).padStart(7)).join(' ')) + '\n');
    return 0;
  }
  let status = 0;
  const rows: [number[], string][] = [];
  for (const f of operands) {
    const data = readFile(c, 'wc', f);
    if (data === undefined) { status = 1; continue; }
    rows.push([count(data), f]);
  }
  if (rows.length > 1) rows.push([want.map((_, i) => rows.reduce((s, r) => s + r[0][i]!, 0)), 'total']);
  const width = Math.max(1, ...rows.flatMap(([n]) => n.map((v) => String(v).length)));
  c.out(rows.map(([n, f]) => n.map((v) => String(v).padStart(width)).join(' ') + ' ' + f + '\n').join(''));
  return status;
}

function digest(c: CommandContext): number {
  const algo = c.name.replace(/sum$/, '');
  let status = 0;
  const files = parseFlags(c.args).operands;
  for (const f of files.length ? files : ['-']) {
    const data = readFile(c, c.name, f);
    if (data === undefined) { status = 1; continue; }
    c.out(`${createHash(algo).update(Buffer.from(data, 'latin1')).digest('hex')}  ${f}\n`);
  }
  return status;
}

function base64(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  const data = operands.length ? readFile(c, 'base64', operands[0]!) : c.stdin;
  if (data === undefined) return 1;
  if (flags.has('d')) {
    const clean = data.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
      c.out(Buffer.from(clean.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1'));
      c.err('base64: invalid input\n');
      return 1;
    }
    c.out(Buffer.from(clean, 'base64').toString('latin1'));
    return 0;
  }
  const enc = Buffer.from(data, 'latin1').toString('base64');
  c.out((enc.match(/.{1,76}/g) ?? ['']).join('\n') + '\n');
  return 0;
}

function realpath(c: CommandContext): number {
  let status = 0;
  for (const f of parseFlags(c.args).operands) {
    try {
      c.out(c.sh.vfs.realpath(c.sh.resolve(f)) + '\n');
    } catch {
      c.err(`${c.name}: ${f}: No such file or directory\n`);
      status = 1;
    }
  }
  return status;
}

function mktemp(c: CommandContext): number {
  const dirMode = c.args.includes('-d');
  const path = `/tmp/tmp.${randomBytes(8).toString('base64').replace(/[^A-Za-z0-9]/g, 'x').slice(0, 10)}`;
  try {
    if (dirMode) c.sh.vfs.mkdir(path, c.sh.identity);
    else c.sh.vfs.writeFile(path, '', c.sh.identity, false, 0o600);
  } catch (e) {
    c.err(`mktemp: failed to create file via template '/tmp/tmp.XXXXXXXXXX': ${c.sh.fsMessage(e)}\n`);
    return 1;
  }
  c.out(path + '\n');
  return 0;
}

function du(c: CommandContext): number {
  const { flags, operands } = parseFlags(c.args);
  for (const f of operands.length ? operands : ['.']) {
    const node = c.sh.safeLookup(c.sh.resolve(f));
    if (!node) { c.err(`du: cannot access '${f}': No such file or directory\n`); continue; }
    let total = 0;
    const walk = (n: Node, depth: number): void => {
      total += Math.ceil(nodeSize(n) / 4096) * 4;
      if (n.kind === 'dir' && depth < 8) for (const child of n.children.values()) walk(child, depth + 1);
    };
    walk(node, 0);
    c.out(`${flags.has('h') ? human(total * 1024) : total}\t${f}\n`);
  }
  return 0;
}

function find(c: CommandContext): number {
  const paths: string[] = [];
  let i = 0;
  for (; i < c.args.length && !c.args[i]!.startsWith('-'); i++) paths.push(c.args[i]!);
  let nameGlob: string | undefined;
  let type: string | undefined;
  for (; i < c.args.length; i++) {
    if (c.args[i] === '-name' || c.args[i] === '-iname') nameGlob = c.args[++i];
    else if (c.args[i] === '-type') type = c.args[++i];
  }
  let out = '';
  let count = 0;
  const walk = (shown: string, n: Node, depth: number): void => {
    if (count > 2000) return;
    const name = basename(shown);
    if ((!nameGlob || globMatch(nameGlob, name)) && (!type || (type === 'f' ? n.kind === 'file' : type === 'd' ? n.kind === 'dir' : type === 'l' ? n.kind === 'link' : false))) {
      out += shown + '\n';
      count++;
    }
    if (n.kind === 'dir' && depth < 12) {
      if (!c.sh.vfs.canRead(n, c.sh.identity)) { c.err(`find: '${shown}': Permission denied\n`); return; }
      for (const [childName, child] of [...n.children.entries()].sort(([a], [b]) => a.localeCompare(b))) {
        if (shown === '/' && (childName === 'proc' || childName === 'sys')) continue;
        walk(shown === '/' ? `/${childName}` : `${shown}/${childName}`, child, depth + 1);
      }
    }
  };
  for (const p of paths.length ? paths : ['.']) {
    const node = c.sh.safeLookup(c.sh.resolve(p), false);
    if (!node) { c.err(`find: '${p}': No such file or directory\n`); continue; }
    walk(p, node, 0);
  }
  c.out(out);
  return 0;
}

const quiet: CommandFn = () => 0;

export const FS_COMMANDS: Record<string, CommandFn> = {
  ls, dir: ls, cat, touch, mkdir, rm, rmdir, chmod, chown, chgrp: chown, cp: cpmv, mv: cpmv, ln, stat, file: fileCmd,
  head: headTail, tail: headTail, wc, md5sum: digest, sha1sum: digest, sha256sum: digest, sha512sum: digest, base64,
  realpath, readlink: realpath, mktemp, du, find,
  basename: (c) => { const a = parseFlags(c.args).operands; if (!a[0]) { c.err('basename: missing operand\n'); return 1; } let b = basename(a[0].replace(/\/+$/, '') || '/'); if (a[1] && b.endsWith(a[1])) b = b.slice(0, -a[1].length); c.out(b + '\n'); return 0; },
  dirname: (c) => { const a = parseFlags(c.args).operands; if (!a[0]) { c.err('dirname: missing operand\n'); return 1; } c.out((a[0].includes('/') ? dirname(a[0].replace(/\/+$/, '')) : '.') + '\n'); return 0; },
  chattr: (c) => { if (c.sh.user.uid !== 0) { c.err(`chattr: Operation not permitted while setting flags on ${c.args[c.args.length - 1] ?? ''}\n`); return 1; } return 0; },
  lsattr: (c) => { for (const f of parseFlags(c.args).operands) c.out(`--------------e------- ${f}\n`); return 0; },
  sync: quiet,
};
