// The fake filesystem of an emulated shell. The base image is built once per decky and never
// mutated; each session writes through path copying (a changed directory is shallow-copied up to
// the root), so sessions never see each other's changes and a session costs only what it wrote.
// Nothing here touches the real filesystem.

export interface NodeBase {
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, epoch ms. */
  mtime: number;
}

/** File content: fixed text, or computed at read time (e.g. /proc/uptime). */
export type Content = string | (() => string);

export interface FileNode extends NodeBase {
  kind: 'file';
  content: Content;
  /** Size shown by ls/stat when it differs from the content (binaries hold only a short header). */
  size?: number;
}

export interface DirNode extends NodeBase {
  kind: 'dir';
  children: Map<string, Node>;
}

export interface LinkNode extends NodeBase {
  kind: 'link';
  target: string;
}

export interface DeviceNode extends NodeBase {
  kind: 'dev';
  /** What reading yields: nothing (/dev/null) or bounded bytes (/dev/zero, /dev/urandom). */
  read: 'null' | 'zero' | 'random';
}

export type Node = FileNode | DirNode | LinkNode | DeviceNode;

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

export function dir(mode = 0o755, uid = 0, gid = 0, mtime = 0): DirNode {
  return { kind: 'dir', mode, uid, gid, mtime, children: new Map() };
}

export function file(content: Content, mode = 0o644, uid = 0, gid = 0, mtime = 0, size?: number): FileNode {
  const node: FileNode = { kind: 'file', content, mode, uid, gid, mtime };
  if (size !== undefined) node.size = size;
  return node;
}

export function link(target: string, mtime = 0): LinkNode {
  return { kind: 'link', target, mode: 0o777, uid: 0, gid: 0, mtime };
}

export function readContent(node: FileNode): string {
  return typeof node.content === 'function' ? node.content() : node.content;
}

export function nodeSize(node: Node): number {
  switch (node.kind) {
    case 'file':
      return node.size ?? Buffer.byteLength(readContent(node));
    case 'dir':
      return 4096;
    case 'link':
      return node.target.length;
    case 'dev':
      return 0;
  }
}

/** Normalises `path` against `cwd` (and `~` against `home`) into an absolute path without `.`/`..`. */
export function resolvePath(path: string, cwd: string, home: string): string {
  let p = path;
  if (p === '~' || p.startsWith('~/')) p = home + p.slice(1);
  const abs = p.startsWith('/') ? p : `${cwd}/${p}`;
  const out: string[] = [];
  for (const part of abs.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export function dirname(abs: string): string {
  const i = abs.lastIndexOf('/');
  return i <= 0 ? '/' : abs.slice(0, i);
}

export function basename(abs: string): string {
  if (abs === '/') return '/';
  return abs.slice(abs.lastIndexOf('/') + 1);
}

export type FsErrorCode = 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'EACCES' | 'EEXIST' | 'ENOTEMPTY' | 'ENOSPC' | 'ELOOP' | 'EINVAL';

export class FsError extends Error {
  readonly code: FsErrorCode;
  constructor(code: FsErrorCode, path: string) {
    super(`${code}: ${path}`);
    this.code = code;
  }
}

/** What `strerror` prints for each code, as coreutils shows it. */
export const FS_MESSAGES: Record<FsErrorCode, string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EACCES: 'Permission denied',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  ENOSPC: 'No space left on device',
  ELOOP: 'Too many levels of symbolic links',
  EINVAL: 'Invalid argument',
};

export interface Identity {
  uid: number;
  gid: number;
}

export interface VfsLimits {
  /** Bytes of file content a session may write in total. */
  maxBytes: number;
  /** Files and directories a session may create. */
  maxEntries: number;
}

const MAX_LINK_DEPTH = 8;

/** One session's view of the filesystem: the shared base image plus its own writes. */
export class Vfs {
  private root: DirNode;
  private bytesWritten = 0;
  private entriesCreated = 0;
  private readonly limits: VfsLimits;

  constructor(base: DirNode, limits: VfsLimits) {
    this.root = base;
    this.limits = limits;
  }

  /** Looks a path up. `follow` resolves a final symlink (stat vs lstat). */
  lookup(abs: string, follow = true, depth = 0): Node | undefined {
    if (depth > MAX_LINK_DEPTH) throw new FsError('ELOOP', abs);
    const parts = abs.split('/').filter(Boolean);
    let node: Node = this.root;
    let here = '';
    for (let i = 0; i < parts.length; i++) {
      if (node.kind === 'link') {
        const target: Node | undefined = this.lookup(resolvePath(node.target, dirname(here) || '/', '/'), true, depth + 1);
        if (!target) return undefined;
        node = target;
      }
      if (node.kind !== 'dir') throw new FsError('ENOTDIR', abs);
      const next = node.children.get(parts[i]!);
      if (!next) return undefined;
      here += '/' + parts[i];
      node = next;
    }
    if (follow && node.kind === 'link') return this.lookup(resolvePath(node.target, dirname(here) || '/', '/'), true, depth + 1);
    return node;
  }

  /** The canonical path after resolving symlinks in every component (for cd and realpath). */
  realpath(abs: string, depth = 0): string {
    if (depth > MAX_LINK_DEPTH) throw new FsError('ELOOP', abs);
    const parts = abs.split('/').filter(Boolean);
    let node: Node = this.root;
    let here = '';
    for (const part of parts) {
      if (node.kind !== 'dir') throw new FsError('ENOTDIR', abs);
      const next = node.children.get(part);
      if (!next) throw new FsError('ENOENT', abs);
      if (next.kind === 'link') {
        const resolved = this.realpath(resolvePath(next.target, here || '/', '/'), depth + 1);
        here = resolved === '/' ? '' : resolved;
        node = this.lookup(resolved)!;
      } else {
        here += '/' + part;
        node = next;
      }
    }
    return here || '/';
  }

  canRead(node: Node, who: Identity): boolean {
    return who.uid === 0 || this.permits(node, who, 4);
  }

  canWrite(node: Node, who: Identity): boolean {
    return who.uid === 0 || this.permits(node, who, 2);
  }

  canExecute(node: Node, who: Identity): boolean {
    if (who.uid === 0) return (node.mode & 0o111) !== 0 || node.kind === 'dir';
    return this.permits(node, who, 1);
  }

  private permits(node: Node, who: Identity, bit: number): boolean {
    if (node.uid === who.uid) return (node.mode & (bit << 6)) !== 0;
    if (node.gid === who.gid) return (node.mode & (bit << 3)) !== 0;
    return (node.mode & bit) !== 0;
  }

  list(abs: string): [string, Node][] {
    const node = this.lookup(abs);
    if (!node) throw new FsError('ENOENT', abs);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', abs);
    return [...node.children.entries()].sort(([a], [b]) => a.localeCompare(b, 'en'));
  }

  /** Replaces (or with `undefined`, removes) the entry at `abs`, copying each directory on the way. */
  private put(abs: string, value: Node | undefined): void {
    const parts = abs.split('/').filter(Boolean);
    if (parts.length === 0) throw new FsError('EINVAL', abs);
    const copy = (d: DirNode): DirNode => ({ ...d, children: new Map(d.children) });
    const newRoot = copy(this.root);
    let cur = newRoot;
    for (let i = 0; i < parts.length - 1; i++) {
      const child = cur.children.get(parts[i]!);
      let next: Node | undefined = child;
      if (next?.kind === 'link') {
        // Writes through a directory symlink land in its target.
        const target = this.realpath('/' + parts.slice(0, i + 1).join('/'));
        this.put(target + '/' + parts.slice(i + 1).join('/'), value);
        return;
      }
      if (!next) throw new FsError('ENOENT', abs);
      if (next.kind !== 'dir') throw new FsError('ENOTDIR', abs);
      const dup = copy(next);
      cur.children.set(parts[i]!, dup);
      cur = dup;
    }
    const name = parts[parts.length - 1]!;
    if (value) cur.children.set(name, value);
    else cur.children.delete(name);
    cur.mtime = Date.now();
    this.root = newRoot;
  }

  private parentFor(abs: string, who: Identity): DirNode {
    const parent = this.lookup(dirname(abs));
    if (!parent) throw new FsError('ENOENT', abs);
    if (parent.kind !== 'dir') throw new FsError('ENOTDIR', abs);
    if (!this.canWrite(parent, who)) throw new FsError('EACCES', abs);
    return parent;
  }

  private charge(bytes: number, entries: number, abs: string): void {
    if (this.bytesWritten + bytes > this.limits.maxBytes || this.entriesCreated + entries > this.limits.maxEntries) {
      throw new FsError('ENOSPC', abs);
    }
    this.bytesWritten += Math.max(0, bytes);
    this.entriesCreated += entries;
  }

  writeFile(abs: string, data: string, who: Identity, append = false, mode = 0o644): void {
    const existing = this.lookup(abs);
    if (existing?.kind === 'dir') throw new FsError('EISDIR', abs);
    if (existing?.kind === 'dev') return; // > /dev/null
    if (existing) {
      if (!this.canWrite(existing, who)) throw new FsError('EACCES', abs);
      const prev = existing.kind === 'file' ? readContent(existing) : '';
      const content = append ? prev + data : data;
      this.charge(Buffer.byteLength(data), 0, abs);
      this.put(this.realpath(dirname(abs)) + '/' + basename(abs), { ...(existing as FileNode), kind: 'file', content, size: undefined, mtime: Date.now() });
      return;
    }
    this.parentFor(abs, who);
    this.charge(Buffer.byteLength(data), 1, abs);
    this.put(abs, file(data, mode, who.uid, who.gid, Date.now()));
  }

  mkdir(abs: string, who: Identity, parents = false): void {
    const existing = this.lookup(abs);
    if (existing) {
      if (parents && existing.kind === 'dir') return;
      throw new FsError('EEXIST', abs);
    }
    if (parents && abs !== '/' && !this.lookup(dirname(abs))) this.mkdir(dirname(abs), who, true);
    this.parentFor(abs, who);
    this.charge(0, 1, abs);
    this.put(abs, dir(0o755, who.uid, who.gid, Date.now()));
  }

  remove(abs: string, who: Identity, recursive = false): void {
    const node = this.lookup(abs, false);
    if (!node) throw new FsError('ENOENT', abs);
    if (node.kind === 'dir' && !recursive) throw new FsError('EISDIR', abs);
    if (abs === '/') throw new FsError('EACCES', abs);
    this.parentFor(abs, who);
    this.put(abs, undefined);
  }

  rmdir(abs: string, who: Identity): void {
    const node = this.lookup(abs, false);
    if (!node) throw new FsError('ENOENT', abs);
    if (node.kind !== 'dir') throw new FsError('ENOTDIR', abs);
    if (node.children.size > 0) throw new FsError('ENOTEMPTY', abs);
    this.parentFor(abs, who);
    this.put(abs, undefined);
  }

  /** Sets mode/owner/mtime on an existing entry. */
  update(abs: string, who: Identity, change: Partial<NodeBase>): void {
    const node = this.lookup(abs);
    if (!node) throw new FsError('ENOENT', abs);
    if (who.uid !== 0 && node.uid !== who.uid) throw new FsError('EACCES', abs);
    if (change.uid !== undefined && who.uid !== 0) throw new FsError('EACCES', abs);
    const real = this.realpath(abs);
    if (real === '/') return;
    this.put(real, { ...node, ...change } as Node);
  }

  copy(from: string, to: string, who: Identity): void {
    const src = this.lookup(from);
    if (!src) throw new FsError('ENOENT', from);
    if (!this.canRead(src, who)) throw new FsError('EACCES', from);
    if (src.kind === 'dir') throw new FsError('EISDIR', from);
    const data = src.kind === 'file' ? readContent(src) : '';
    this.writeFile(to, data, who, false, src.mode & 0o7777);
  }

  move(from: string, to: string, who: Identity): void {
    const src = this.lookup(from, false);
    if (!src) throw new FsError('ENOENT', from);
    this.parentFor(from, who);
    this.parentFor(to, who);
    this.charge(0, 1, to);
    this.put(to, src);
    this.put(from, undefined);
  }
}
