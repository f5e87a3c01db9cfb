// The bait file system an FTP visitor sees: a public area for anonymous logins and a home directory with
// backups, a web root and notes for password logins. Content is generated per decky from a seed (stable
// across restarts, different between deckies) and only when a file is first read. Every credential in it is
// fake. Sessions that upload or delete work on their own copy of the tree.
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { tar } from './tar.ts';

export interface FtpNode {
  name: string;
  dir: boolean;
  /** Permission string as ls shows it, e.g. "-rw-r--r--". */
  mode: string;
  uid: number;
  gid: number;
  mtime: number;
  /** Byte size (files); directories report 4096. */
  size: number;
  /** File content, generated on first use. */
  content?: () => Buffer;
  children?: Map<string, FtpNode>;
}

export interface BaitContext {
  hostname: string;
  domain: string;
  /** Per-decky seed. */
  seed: number;
  /** Distro slug, for the flavour of paths and versions. */
  distro: string;
  /** Archetype slug: a printer's FTP holds scans, a server's holds backups. */
  archetype: string;
  /** apt, dnf, yum, apk … (what the bait shell history uses). */
  packageManager: string;
}

/** Small deterministic PRNG (mulberry32) so bait differs per decky but not per restart. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function lazy(make: () => Buffer): () => Buffer {
  let cached: Buffer | null = null;
  return () => (cached ??= make());
}

function file(name: string, mtime: number, make: string | (() => Buffer | string), opts: { mode?: string; uid?: number; size?: number } = {}): FtpNode {
  const content = lazy(() => {
    const v = typeof make === 'string' ? make : make();
    return typeof v === 'string' ? Buffer.from(v) : v;
  });
  const node: FtpNode = { name, dir: false, mode: opts.mode ?? '-rw-r--r--', uid: opts.uid ?? 0, gid: opts.uid ?? 0, mtime, size: opts.size ?? -1, content };
  if (node.size < 0) node.size = content().length;
  return node;
}

function dir(name: string, mtime: number, children: FtpNode[], opts: { mode?: string; uid?: number } = {}): FtpNode {
  return { name, dir: true, mode: opts.mode ?? 'drwxr-xr-x', uid: opts.uid ?? 0, gid: opts.uid ?? 0, mtime, size: 4096, children: new Map(children.map((c) => [c.name, c])) };
}

const WORDS = ['Summer', 'Winter', 'Welcome', 'Company', 'Backup', 'Server', 'Admin', 'Spring', 'Autumn', 'Secure'];

function fakePassword(r: () => number): string {
  return `${WORDS[Math.floor(r() * WORDS.length)]}${2019 + Math.floor(r() * 6)}${'!#$@'[Math.floor(r() * 4)]}`;
}

function fakeBcrypt(r: () => number): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '$2y$10$';
  for (let i = 0; i < 53; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

function day(ts: number): string {
  return new Date(ts).toISOString().slice(0, 10);
}

/** The tree for anonymous logins: /pub (readable) and /incoming (write-only drop box). */
export function anonymousTree(b: BaitContext, now = Date.now()): FtpNode {
  const r = rng(b.seed ^ 0x5a5a);
  const t = (maxDays: number): number => Math.floor((now - (2 + r() * maxDays) * 86_400_000) / 60_000) * 60_000;
  const fwVersion = `2.${Math.floor(r() * 6)}.${Math.floor(r() * 12)}`;
  const fwSeed = b.seed;
  return dir('/', t(400), [
    dir('pub', t(300), [
      file('README', t(300), `This is the public FTP area of ${b.hostname}.\n\nDrivers, firmware and setup documents for the office.\nUploads: put files in /incoming (you will not be able to list them).\nQuestions: it-support@${b.domain}\n`),
      dir('docs', t(200), [
        file('vpn-setup.txt', t(120), `VPN access for staff\n====================\n\nGateway: vpn.${b.domain} (IKEv2)\nLog in with your domain account (DOMAIN\\\\username).\nThe shared pre-shared key was changed in ${day(t(120)).slice(0, 7)}; ask IT for it.\n`),
        file('printer-install.txt', t(260), `Office printers\n---------------\nprn-1st-floor.${b.domain}  (HP LaserJet, PCL6)\nprn-2nd-floor.${b.domain}  (Ricoh, PostScript)\nDrivers are in /pub/drivers.\n`),
      ]),
      dir('drivers', t(380), [
        file(`fw_update_v${fwVersion}.bin`, t(90), () => firmwareBlob(fwSeed, 96 * 1024), { size: 96 * 1024 }),
      ]),
    ]),
    dir('incoming', t(400), [], { mode: 'drwx-wx-wx', uid: 14 }),
    ...(b.archetype === 'printer'
      ? [dir('scans', t(5), [0, 1, 2].map((i) => { const when = t(30); return file(`scan_${day(when).replace(/-/g, '')}_${String(100 + i * 37).padStart(4, '0')}.pdf`, when, () => minimalPdf(`Scanned document ${i + 1}`)); }))]
      : []),
  ]);
}

/** A one-page PDF with a line of text: enough for a downloaded "scan" to open. */
function minimalPdf(text: string): Buffer {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${`BT /F1 12 Tf 72 770 Td (${text}) Tj ET`.length} >>\nstream\nBT /F1 12 Tf 72 770 Td (${text}) Tj ET\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** The tree for a password login: the user's home with backups, a web root and notes. */
export function userTree(b: BaitContext, user: string, now = Date.now()): FtpNode {
  const r = rng(b.seed ^ 0xa5a5);
  const t = (maxDays: number): number => Math.floor((now - (1 + r() * maxDays) * 86_400_000) / 60_000) * 60_000;
  const uid = user === 'root' ? 0 : 1000;
  const dbUser = `${b.domain.split('.')[0]}_app`;
  const dbPass = fakePassword(r);
  const rootPass = fakePassword(r);
  const backupDay = t(20);
  const config = `<?php\n// Database settings\ndefine('DB_HOST', 'localhost');\ndefine('DB_NAME', '${dbUser.replace('_app', '')}');\ndefine('DB_USER', '${dbUser}');\ndefine('DB_PASSWORD', '${dbPass}');\ndefine('DB_CHARSET', 'utf8mb4');\n\n$smtp_relay = 'mail.${b.domain}';\n`;
  const hashes = Array.from({ length: 6 }, () => fakeBcrypt(r));
  const people = ['admin', 'jsmith', 'mgarcia', 'lchen', 'backup', 'svc_report'];
  const dump = `-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: localhost    Database: ${dbUser.replace('_app', '')}\n-- ------------------------------------------------------\n\nDROP TABLE IF EXISTS \`users\`;\nCREATE TABLE \`users\` (\n  \`id\` int NOT NULL AUTO_INCREMENT,\n  \`username\` varchar(64) NOT NULL,\n  \`email\` varchar(128) NOT NULL,\n  \`password\` char(60) NOT NULL,\n  \`is_admin\` tinyint(1) NOT NULL DEFAULT '0',\n  PRIMARY KEY (\`id\`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\nLOCK TABLES \`users\` WRITE;\nINSERT INTO \`users\` VALUES ${people.map((p, i) => `(${i + 1},'${p}','${p}@${b.domain}','${hashes[i]}',${i === 0 ? 1 : 0})`).join(',')};\nUNLOCK TABLES;\n\n-- Dump completed on ${day(backupDay)} 02:00:0${Math.floor(r() * 10)}\n`;
  const htaccess = `RewriteEngine On\nRewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^ index.php [L]\n\n<Files "config.php">\n  Require all denied\n</Files>\n`;
  const index = `<?php\nrequire __DIR__ . '/config.php';\nrequire __DIR__ . '/lib/bootstrap.php';\n\n$app = new App(DB_HOST, DB_NAME, DB_USER, DB_PASSWORD);\n$app->run();\n`;
  const mtimeSec = Math.floor(backupDay / 1000);
  return dir('/', t(500), [
    dir('backup', backupDay, [
      file(`db_backup_${day(backupDay)}.sql.gz`, backupDay, () => gzipSync(dump), { uid }),
      file(`www_${day(backupDay)}.tar.gz`, backupDay, () => gzipSync(tar([
        { name: 'www/index.php', data: index, mtime: mtimeSec - 86400 * 40 },
        { name: 'www/config.php', data: config, mtime: mtimeSec - 86400 * 12 },
        { name: 'www/.htaccess', data: htaccess, mtime: mtimeSec - 86400 * 90 },
      ])), { uid }),
    ], { uid }),
    dir('www', t(60), [
      file('index.php', t(60), index, { uid }),
      file('config.php', t(30), config, { uid, mode: '-rw-r-----' }),
      file('.htaccess', t(200), htaccess, { uid }),
    ], { uid }),
    file('notes.txt', t(15), `- renew the wildcard cert for ${b.domain} before it expires\n- mysql root pw is still the old one (${rootPass}), change after the migration\n- move nightly backups off this box (cron runs 02:00)\n`, { uid, mode: '-rw-------' }),
    file('.bash_history', t(3), `cd /var/www\nls -la\nsudo ${b.packageManager === 'apt' ? 'apt update && sudo apt upgrade -y' : `${b.packageManager} update`}\nmysqldump -u root -p --all-databases > /tmp/all.sql\ngzip /tmp/all.sql\nmv /tmp/all.sql.gz ~/backup/\nsudo systemctl restart ${/^(rocky|centos|fedora)/.test(b.distro) ? 'httpd' : 'nginx'}\nexit\n`, { uid, mode: '-rw-------' }),
  ], { uid });
}

/** Deterministic pseudo-random bytes with a plausible firmware header. */
function firmwareBlob(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  out.write('HDR0', 0, 'ascii');
  out.writeUInt32LE(size, 4);
  let block = createHash('sha256').update(`fw:${seed}`).digest();
  for (let o = 32; o < size; o += 32) {
    block.copy(out, o, 0, Math.min(32, size - o));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Deep copy of the tree structure (contents are shared: they are immutable). */
export function cloneTree(node: FtpNode): FtpNode {
  if (!node.dir) return { ...node };
  return { ...node, children: new Map([...node.children!].map(([k, v]) => [k, cloneTree(v)])) };
}

/** Resolves `path` (absolute or relative to `cwd`) to a normalised absolute path; never escapes "/". */
export function resolvePath(cwd: string, path: string): string {
  const parts = (path.startsWith('/') ? path : `${cwd}/${path}`).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return '/' + out.join('/');
}

export function lookup(root: FtpNode, abs: string): FtpNode | undefined {
  let node: FtpNode | undefined = root;
  for (const part of abs.split('/').filter(Boolean)) {
    if (!node?.dir) return undefined;
    node = node.children!.get(part);
  }
  return node;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** One `ls -l` line the way vsftpd prints it (numeric owner and group). */
export function listLine(n: FtpNode, now = Date.now()): string {
  const d = new Date(n.mtime);
  const recent = now - n.mtime < 182 * 86_400_000 && n.mtime <= now;
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, '0')} ${recent ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}` : ` ${d.getUTCFullYear()}`}`;
  const links = n.dir ? 2 + [...n.children!.values()].filter((c) => c.dir).length : 1;
  return `${n.mode} ${String(links).padStart(4)} ${String(n.uid).padEnd(8)} ${String(n.gid).padEnd(8)} ${String(n.size).padStart(8)} ${when} ${n.name}`;
}

/** MDTM format: YYYYMMDDhhmmss (UTC). */
export function mdtm(n: FtpNode): string {
  return new Date(n.mtime).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}
