// Offline country and AS look-ups from the ip-location-db datasets (npm packages
// @ip-location-db/geo-whois-asn-country and @ip-location-db/asn; attribution in
// docs/dependencies.md). On first use each table (country / AS, IPv4 / IPv6) is parsed from its
// CSV and stored as a compact binary file in <data dir>/geo (geo-file.ts); later look-ups, and
// later processes, read that file with pread. The file is named after the CSV's path, size and
// time, so a refreshed dataset is compiled again. Special-purpose addresses answer 'private'
// without a look-up.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, errorMessage } from '../../core/errors.ts';
import { envBool, envString } from '../../core/env.ts';
import { dataDir } from '../../core/paths.ts';
import { bigIntToIpv6, classifyIpv4Number, classifyIpv6BigInt, ipv4ToNumber, ipv6ToBigInt, numberToIpv4 } from '../../core/special-addresses.ts';
import { TableFile } from './geo-file.ts';
import { monotonicMs } from '../../core/clock.ts';

export const COUNTRY_SOURCE = 'ip-location-db/geo-whois-asn-country';
export const ASN_SOURCE = 'ip-location-db/asn';
export const PRIVATE_SOURCE = 'private';
/** Bump when the binary layout or the parsing changes: old files are then compiled again. */
const FORMAT = 1;

export interface GeoAnswer {
  country_code: string | null;
  asn: number | null;
  as_name: string | null;
  /** The widest CIDR block around the address inside its AS range. */
  bgp_prefix: string | null;
}

export type GeoResult = { kind: 'public'; answer: GeoAnswer } | { kind: 'private'; class: string };

export type TableName = 'country4' | 'country6' | 'asn4' | 'asn6';

const FILES: Record<TableName, { pkg: string; file: string }> = {
  country4: { pkg: '@ip-location-db/geo-whois-asn-country', file: 'geo-whois-asn-country-ipv4-num.csv' },
  country6: { pkg: '@ip-location-db/geo-whois-asn-country', file: 'geo-whois-asn-country-ipv6-num.csv' },
  asn4: { pkg: '@ip-location-db/asn', file: 'asn-ipv4-num.csv' },
  asn6: { pkg: '@ip-location-db/asn', file: 'asn-ipv6-num.csv' },
};

interface Open {
  file: TableFile;
  csv: string;
  csvMtimeMs: number;
  lastUsed: number;
}

export interface GeoStats {
  /** Tables open now: their ranges, what they hold in memory, and how their file was obtained. */
  open: Record<string, { ranges: number; memory_bytes: number }>;
  compiled: Record<string, number>;
  lookups: number;
}

export interface GeoOptions {
  /** Directory holding the four CSV files (default: DECNET_GEOIP_DIR, else the npm packages). */
  dir?: string;
  /** Where compiled tables are kept (default: DECNET_GEOIP_CACHE_DIR, else <data dir>/geo). */
  cacheDir?: string;
  country?: boolean;
  asn?: boolean;
  /** Close a table's file after this long without a look-up (ms). */
  idleCloseMs?: number;
  now?: () => number;
}

export class GeoIndex {
  private readonly dir: string | undefined;
  private cacheDir: string;
  private readonly countryOn: boolean;
  private readonly asnOn: boolean;
  private readonly idleCloseMs: number;
  private readonly now: () => number;
  private readonly tables = new Map<TableName, Open>();
  private readonly opening = new Map<TableName, Promise<Open>>();
  private readonly compiled: Record<string, number> = {};
  private lookups = 0;

  constructor(opts: GeoOptions = {}) {
    this.dir = opts.dir ?? envString('DECNET_GEOIP_DIR');
    this.cacheDir = opts.cacheDir ?? envString('DECNET_GEOIP_CACHE_DIR') ?? join(dataDir(), 'geo');
    this.countryOn = opts.country ?? envBool('DECNET_GEOIP_ENABLED', true);
    this.asnOn = opts.asn ?? envBool('DECNET_ASN_ENABLED', true);
    this.idleCloseMs = opts.idleCloseMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    if (this.dir !== undefined && !existsSync(this.dir)) throw new ConfigError(`DECNET_GEOIP_DIR=${this.dir} does not exist`);
  }

  get enabled(): boolean {
    return this.countryOn || this.asnOn;
  }

  get countrySource(): string {
    return this.countryOn ? COUNTRY_SOURCE : 'disabled';
  }

  get asnSource(): string {
    return this.asnOn ? ASN_SOURCE : 'disabled';
  }

  /** Where a table's CSV file is. */
  csvPath(name: TableName): string {
    const { pkg, file } = FILES[name];
    if (this.dir !== undefined) return join(this.dir, file);
    let pkgDir: string;
    try {
      pkgDir = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
    } catch {
      throw new ConfigError(`the offline dataset ${pkg} is not installed (run npm ci), or set DECNET_GEOIP_DIR to a directory holding ${file}`);
    }
    return join(pkgDir, file);
  }

  /** Country and AS of an address; undefined when the text is not an IP address. */
  async lookup(ip: string): Promise<GeoResult | undefined> {
    const v4 = ipv4ToNumber(ip);
    if (v4 !== undefined) return this.lookup4(v4);
    const v6 = ipv6ToBigInt(ip);
    if (v6 === undefined) return undefined;
    // An IPv4-mapped address is the IPv4 host.
    if (v6 >> 32n === 0xffffn) return this.lookup4(Number(v6 & 0xffffffffn));
    const cls = classifyIpv6BigInt(v6);
    if (cls !== 'public') return { kind: 'private', class: cls };
    this.lookups++;
    const answer: GeoAnswer = { country_code: null, asn: null, as_name: null, bgp_prefix: null };
    if (this.countryOn) {
      const t = await this.table('country6');
      const hit = t.find6(v6);
      if (hit) answer.country_code = decodeCountry(t.value(hit.index));
    }
    if (this.asnOn) {
      const t = await this.table('asn6');
      const hit = t.find6(v6);
      if (hit) {
        answer.asn = t.value(hit.index);
        answer.as_name = t.asName(answer.asn);
        answer.bgp_prefix = cidr6(v6, hit.start as bigint, hit.end as bigint);
      }
    }
    return { kind: 'public', answer };
  }

  private async lookup4(ip: number): Promise<GeoResult> {
    const cls = classifyIpv4Number(ip);
    if (cls !== 'public') return { kind: 'private', class: cls };
    this.lookups++;
    const answer: GeoAnswer = { country_code: null, asn: null, as_name: null, bgp_prefix: null };
    if (this.countryOn) {
      const t = await this.table('country4');
      const hit = t.find4(ip);
      if (hit) answer.country_code = decodeCountry(t.value(hit.index));
    }
    if (this.asnOn) {
      const t = await this.table('asn4');
      const hit = t.find4(ip);
      if (hit) {
        answer.asn = t.value(hit.index);
        answer.as_name = t.asName(answer.asn);
        answer.bgp_prefix = cidr4(ip, hit.start as number, hit.end as number);
      }
    }
    return { kind: 'public', answer };
  }

  private async table(name: TableName): Promise<TableFile> {
    const open = this.tables.get(name);
    if (open) {
      open.lastUsed = this.now();
      return open.file;
    }
    let pending = this.opening.get(name);
    if (!pending) {
      pending = this.open(name).finally(() => this.opening.delete(name));
      this.opening.set(name, pending);
    }
    return (await pending).file;
  }

  private async open(name: TableName): Promise<Open> {
    const csv = this.csvPath(name);
    let stat;
    try {
      stat = statSync(csv);
    } catch {
      throw new ConfigError(`the offline dataset file ${csv} is missing`);
    }
    const key = createHash('sha256').update(`${FORMAT}|${csv}|${stat.size}|${stat.mtimeMs}`).digest('hex').slice(0, 16);
    const binName = `${name}-${key}.bin`;
    let file = TableFile.open(join(this.cacheDir, binName));
    if (!file) {
      await this.compile(name, csv, binName);
      file = TableFile.open(join(this.cacheDir, binName));
      if (!file) throw new ConfigError(`cannot read back the compiled table ${join(this.cacheDir, binName)}`);
    }
    const entry: Open = { file, csv, csvMtimeMs: stat.mtimeMs, lastUsed: this.now() };
    this.tables.set(name, entry);
    return entry;
  }

  private async compile(name: TableName, csv: string, binName: string): Promise<void> {
    const started = monotonicMs();
    let dir = this.cacheDir;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      accessSync(dir, constants.W_OK);
    } catch (err) {
      // A read-only data directory must not stop enrichment: fall back to a private temporary one.
      const fallback = join(tmpdir(), `decnet-geo-${process.getuid?.() ?? 'user'}`);
      if (fallback === dir) throw new ConfigError(`cannot write compiled geolocation tables into ${dir}: ${errorMessage(err)}`);
      dir = fallback;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.cacheDir = dir;
    }
    const out = join(dir, binName);
    const entry = cliEntry();
    if (entry) await compileInChild(entry, name, csv, out);
    else await (await import('./geo-compile.ts')).compileTable(name, csv, out);
    // Older compilations of this table (a previous dataset) are no longer needed.
    for (const f of readdirSync(dir)) if (f.startsWith(`${name}-`) && f.endsWith('.bin') && f !== binName) rmSync(join(dir, f), { force: true });
    this.compiled[name] = Math.round(monotonicMs() - started);
  }

  /**
   * Closes tables not used for idleCloseMs, and tables whose CSV changed on disk (they are
   * compiled again at the next look-up). Returns how many were closed.
   */
  release(force = false): number {
    const now = this.now();
    let closed = 0;
    for (const [name, t] of this.tables) {
      let stale = force || now - t.lastUsed >= this.idleCloseMs;
      if (!stale) {
        try {
          stale = statSync(t.csv).mtimeMs !== t.csvMtimeMs;
        } catch {
          stale = false; // keep what we have if the file vanished
        }
      }
      if (stale) {
        t.file.close();
        this.tables.delete(name);
        closed++;
      }
    }
    return closed;
  }

  snapshot(): GeoStats {
    const open: GeoStats['open'] = {};
    for (const [name, t] of this.tables) open[name] = { ranges: t.file.size, memory_bytes: t.file.memoryBytes };
    return { open, compiled: { ...this.compiled }, lookups: this.lookups };
  }
}

/** The decnet CLI this process was started from, if it was (a host started by tests is not). */
function cliEntry(): string | undefined {
  const main = process.argv[1];
  if (!main) return undefined;
  const name = basename(main);
  return name === 'decnet' || name === 'decnet.js' || (name === 'main.ts' && basename(dirname(main)) === 'cli') ? main : undefined;
}

const COMPILE_TIMEOUT_MS = 10 * 60_000;

function compileInChild(entry: string, name: TableName, csv: string, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=1', entry, 'geo-compile', name, csv, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), COMPILE_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new ConfigError(`cannot start the geolocation table compiler: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const message = `compiling ${csv} failed (${signal ?? `exit ${code}`}): ${stderr.trim().replace(/^decnet: /, '') || 'no message'}`;
      // Exit 2 is a problem with the data itself; anything else (killed, out of memory) may pass.
      reject(code === 2 ? new ConfigError(message) : new Error(message));
    });
  });
}

function decodeCountry(v: number): string {
  return String.fromCharCode(v >>> 8, v & 0xff);
}

/** The widest CIDR block that contains `ip` and lies inside [start, end]. */
export function cidr4(ip: number, start: number, end: number): string {
  for (let p = 0; p <= 32; p++) {
    const size = 2 ** (32 - p);
    const base = ip - (ip % size);
    if (base >= start && base + size - 1 <= end) return `${numberToIpv4(base)}/${p}`;
  }
  return `${numberToIpv4(ip)}/32`;
}

export function cidr6(ip: bigint, start: bigint, end: bigint): string {
  for (let p = 0; p <= 128; p++) {
    const size = 1n << BigInt(128 - p);
    const base = ip - (ip % size);
    if (base >= start && base + size - 1n <= end) return `${bigIntToIpv6(base)}/${p}`;
  }
  return `${bigIntToIpv6(ip)}/128`;
}
