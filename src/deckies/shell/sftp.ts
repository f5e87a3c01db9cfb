// An SFTP server over the session's fake filesystem: browsing works, downloads return the fake
// files, uploads are captured (capped) and handed to the caller for quarantine. Every request is
// bounded: open handles, bytes per upload, reads per file.
import type { Shell } from './shell.ts';
import { nodeSize, readContent, resolvePath, type Node } from './vfs.ts';

/** The subset of ssh2's server-side SFTP object we use. */
export interface SftpServer {
  on(event: string, listener: (...args: never[]) => void): unknown;
  handle(reqid: number, handle: Buffer): boolean;
  status(reqid: number, code: number, message?: string): boolean;
  data(reqid: number, data: Buffer): boolean;
  name(reqid: number, names: { filename: string; longname: string; attrs: Attrs }[]): boolean;
  attrs(reqid: number, attrs: Attrs): boolean;
}

interface Attrs {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: number;
  mtime: number;
}

export interface SftpUpload {
  path: string;
  data: Buffer;
  size: number;
  truncated: boolean;
}

const STATUS = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, OP_UNSUPPORTED: 8 } as const;
const FLAG_WRITE = 0x2;
const FLAG_CREAT = 0x8;
const MAX_HANDLES = 64;
const TYPE_BITS = { dir: 0o040000, file: 0o100000, link: 0o120000, dev: 0o020000 } as const;

function attrsOf(node: Node): Attrs {
  const t = Math.floor(node.mtime / 1000);
  return { mode: TYPE_BITS[node.kind] | (node.mode & 0o7777), uid: node.uid, gid: node.gid, size: nodeSize(node), atime: t, mtime: t };
}

function longname(name: string, node: Node): string {
  const kind = node.kind === 'dir' ? 'd' : node.kind === 'link' ? 'l' : '-';
  const bits = (node.mode & 0o777).toString(2).padStart(9, '0').split('').map((b, i) => (b === '1' ? 'rwx'[i % 3] : '-')).join('');
  const d = new Date(node.mtime);
  const date = `${d.toUTCString().slice(8, 11)} ${String(d.getUTCDate()).padStart(2)} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return `${kind}${bits}    1 ${node.uid === 0 ? 'root' : String(node.uid)}     ${node.gid === 0 ? 'root' : String(node.gid)}     ${String(nodeSize(node)).padStart(8)} ${date} ${name}`;
}

export interface SftpOptions {
  maxFileBytes: number;
  onUpload(upload: SftpUpload): void;
  record(event: string, fields: Record<string, string | number | boolean | undefined>): void;
}

export function serveSftp(sftp: SftpServer, shell: Shell, opts: SftpOptions): void {
  let nextHandle = 1;
  const handles = new Map<number, { kind: 'read'; data: Buffer } | { kind: 'write'; path: string; chunks: Map<number, Buffer>; kept: number; size: number; truncated: boolean } | { kind: 'dir'; path: string; sent: boolean }>();
  const resolve = (p: string): string => resolvePath(p || '.', shell.home, shell.home);
  const handleId = (buf: Buffer): number => (buf.length === 4 ? buf.readUInt32BE(0) : -1);
  const newHandle = (value: Parameters<typeof handles.set>[1]): Buffer | undefined => {
    if (handles.size >= MAX_HANDLES) return undefined;
    const id = nextHandle++;
    handles.set(id, value);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id);
    return b;
  };
  const lookup = (p: string, follow = true): Node | undefined => shell.safeLookup(resolve(p), follow);

  sftp.on('REALPATH', (reqid: number, path: string) => {
    const abs = resolve(path);
    const node = shell.safeLookup(abs);
    sftp.name(reqid, [{ filename: abs, longname: node ? longname(abs, node) : abs, attrs: node ? attrsOf(node) : attrsOf({ kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: Date.now(), children: new Map() }) }]);
  });
  const stat = (follow: boolean) => (reqid: number, path: string) => {
    const node = lookup(path, follow);
    if (!node) sftp.status(reqid, STATUS.NO_SUCH_FILE);
    else sftp.attrs(reqid, attrsOf(node));
  };
  sftp.on('STAT', stat(true));
  sftp.on('LSTAT', stat(false));
  sftp.on('FSTAT', (reqid: number, handle: Buffer) => {
    const h = handles.get(handleId(handle));
    if (!h) return sftp.status(reqid, STATUS.FAILURE);
    const size = h.kind === 'read' ? h.data.length : h.kind === 'write' ? h.size : 4096;
    sftp.attrs(reqid, { mode: (h.kind === 'dir' ? 0o040755 : 0o100644), uid: shell.user.uid, gid: shell.user.gid, size, atime: Math.floor(Date.now() / 1000), mtime: Math.floor(Date.now() / 1000) });
  });
  sftp.on('OPENDIR', (reqid: number, path: string) => {
    const node = lookup(path);
    if (!node) return sftp.status(reqid, STATUS.NO_SUCH_FILE);
    if (node.kind !== 'dir' || !shell.vfs.canRead(node, shell.identity)) return sftp.status(reqid, STATUS.PERMISSION_DENIED);
    const h = newHandle({ kind: 'dir', path: resolve(path), sent: false });
    if (!h) return sftp.status(reqid, STATUS.FAILURE);
    sftp.handle(reqid, h);
  });
  sftp.on('READDIR', (reqid: number, handle: Buffer) => {
    const h = handles.get(handleId(handle));
    if (!h || h.kind !== 'dir') return sftp.status(reqid, STATUS.FAILURE);
    if (h.sent) return sftp.status(reqid, STATUS.EOF);
    h.sent = true;
    let entries: [string, Node][] = [];
    try {
      entries = shell.vfs.list(h.path);
    } catch {
      return sftp.status(reqid, STATUS.EOF);
    }
    sftp.name(reqid, entries.slice(0, 500).map(([n, node]) => ({ filename: n, longname: longname(n, node), attrs: attrsOf(node) })));
  });
  sftp.on('OPEN', (reqid: number, filename: string, flags: number) => {
    const abs = resolve(filename);
    if (flags & (FLAG_WRITE | FLAG_CREAT)) {
      const h = newHandle({ kind: 'write', path: abs, chunks: new Map(), kept: 0, size: 0, truncated: false });
      if (!h) return sftp.status(reqid, STATUS.FAILURE);
      opts.record('sftp_request', { op: 'open_write', path: abs.slice(0, 1024) });
      return sftp.handle(reqid, h);
    }
    const node = shell.safeLookup(abs);
    if (!node) return sftp.status(reqid, STATUS.NO_SUCH_FILE);
    if (node.kind === 'dir') return sftp.status(reqid, STATUS.FAILURE, 'Is a directory');
    if (!shell.vfs.canRead(node, shell.identity)) return sftp.status(reqid, STATUS.PERMISSION_DENIED);
    opts.record('sftp_request', { op: 'open_read', path: abs.slice(0, 1024) });
    const h = newHandle({ kind: 'read', data: Buffer.from(node.kind === 'file' ? readContent(node) : '', 'latin1') });
    if (!h) return sftp.status(reqid, STATUS.FAILURE);
    sftp.handle(reqid, h);
  });
  sftp.on('READ', (reqid: number, handle: Buffer, offset: number, length: number) => {
    const h = handles.get(handleId(handle));
    if (!h || h.kind !== 'read') return sftp.status(reqid, STATUS.FAILURE);
    if (offset >= h.data.length) return sftp.status(reqid, STATUS.EOF);
    sftp.data(reqid, h.data.subarray(offset, offset + Math.min(length, 32 * 1024)));
  });
  sftp.on('WRITE', (reqid: number, handle: Buffer, offset: number, data: Buffer) => {
    const h = handles.get(handleId(handle));
    if (!h || h.kind !== 'write') return sftp.status(reqid, STATUS.FAILURE);
    h.size = Math.max(h.size, offset + data.length);
    if (offset + data.length <= opts.maxFileBytes && h.kept + data.length <= opts.maxFileBytes) {
      h.chunks.set(offset, Buffer.from(data));
      h.kept += data.length;
    } else h.truncated = true;
    sftp.status(reqid, STATUS.OK);
  });
  sftp.on('CLOSE', (reqid: number, handle: Buffer) => {
    const id = handleId(handle);
    const h = handles.get(id);
    if (!h) return sftp.status(reqid, STATUS.FAILURE);
    handles.delete(id);
    if (h.kind === 'write') {
      const data = Buffer.alloc(Math.min(h.size, opts.maxFileBytes));
      for (const [off, chunk] of h.chunks) if (off < data.length) chunk.copy(data, off);
      opts.onUpload({ path: h.path, data, size: h.size, truncated: h.truncated || h.size > data.length });
    }
    sftp.status(reqid, STATUS.OK);
  });
  const mutate = (op: string, fn: (abs: string, extra?: string) => void) => (reqid: number, path: string, extra?: unknown) => {
    const abs = resolve(path);
    opts.record('sftp_request', { op, path: abs.slice(0, 1024), target: typeof extra === 'string' ? resolve(extra).slice(0, 1024) : undefined });
    try {
      fn(abs, typeof extra === 'string' ? resolve(extra) : undefined);
      sftp.status(reqid, STATUS.OK);
    } catch {
      sftp.status(reqid, shell.safeLookup(abs) ? STATUS.PERMISSION_DENIED : STATUS.NO_SUCH_FILE);
    }
  };
  sftp.on('MKDIR', mutate('mkdir', (abs) => shell.vfs.mkdir(abs, shell.identity)));
  sftp.on('RMDIR', mutate('rmdir', (abs) => shell.vfs.rmdir(abs, shell.identity)));
  sftp.on('REMOVE', mutate('remove', (abs) => shell.vfs.remove(abs, shell.identity)));
  sftp.on('RENAME', mutate('rename', (abs, to) => shell.vfs.move(abs, to!, shell.identity)));
  sftp.on('SETSTAT', (reqid: number) => sftp.status(reqid, STATUS.OK));
  sftp.on('FSETSTAT', (reqid: number) => sftp.status(reqid, STATUS.OK));
  sftp.on('READLINK', (reqid: number, path: string) => {
    const node = lookup(path, false);
    if (node?.kind !== 'link') return sftp.status(reqid, STATUS.FAILURE);
    sftp.name(reqid, [{ filename: node.target, longname: node.target, attrs: attrsOf(node) }]);
  });
}
