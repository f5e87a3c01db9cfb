// A minimal ustar writer, so bait archives a visitor downloads are real, well-formed .tar.gz files.

export interface TarEntry {
  name: string;
  data: Buffer | string;
  /** Unix seconds. */
  mtime: number;
  mode?: number;
  user?: string;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, size: number, mtime: number, mode: number, user: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 99), 0, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(user === 'root' ? 0 : 1000, 8), 108, 'ascii');
  h.write(octal(user === 'root' ? 0 : 1000, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum placeholder: eight spaces
  h.write('0', 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'ascii');
  h.write(user, 265, 'ascii');
  h.write(user, 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

export function tar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
    parts.push(header(e.name, data.length, e.mtime, e.mode ?? 0o644, e.user ?? 'www-data'), data);
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
