// Import-floor guard (DESIGN §6 rule 4): runs a command of the BUILT CLI under a module-load
// recorder and reports which source modules it really loaded, by mapping the loaded bundle chunks
// back to their inputs through esbuild's metafile (dist/meta.json).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const HOOK = join(ROOT, 'test/helpers/record-modules.mjs');

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

export interface RecordedRun {
  /** Every module URL the process loaded (chunks, built-ins, external packages). */
  urls: string[];
  /** Source inputs (paths relative to the repo, e.g. 'src/db/connection.ts', 'node_modules/pg/lib/index.js') of the loaded chunks. */
  sources: string[];
  /** node: built-ins loaded. */
  builtins: string[];
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RecordOptions {
  env?: NodeJS.ProcessEnv;
  /** For long-running commands: resolves true once the command is far enough along; then it gets SIGTERM. */
  until?: () => boolean | Promise<boolean>;
  timeoutMs?: number;
}

function loadMeta(): Metafile {
  return JSON.parse(readFileSync(join(ROOT, 'dist/meta.json'), 'utf8')) as Metafile;
}

export async function recordModules(args: string[], opts: RecordOptions = {}): Promise<RecordedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'decnet-modules-'));
  const log = join(dir, 'modules.log');
  const child = spawn(process.execPath, ['--import', HOOK, join(ROOT, 'bin/decnet'), ...args], {
    env: { ...process.env, ...opts.env, DECNET_MODULE_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  if (opts.until) {
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await opts.until()) {
        ready = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!ready && child.exitCode === null) {
      child.kill('SIGKILL');
      throw new Error(`command ${args.join(' ')} did not reach its ready condition within ${timeoutMs} ms\n${stderr}`);
    }
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  let urls: string[] = [];
  try {
    urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  } catch {
    // the process loaded nothing through the hook
  }
  rmSync(dir, { recursive: true, force: true });
  const meta = loadMeta();
  const sources = new Set<string>();
  for (const url of urls) {
    if (!url.startsWith('file:')) continue;
    const rel = relative(ROOT, fileURLToPath(url));
    const output = meta.outputs[rel];
    if (output) for (const input of Object.keys(output.inputs)) sources.add(input);
    else sources.add(rel); // loaded outside the bundle (an external package)
  }
  return { urls, sources: [...sources].sort(), builtins: urls.filter((u) => u.startsWith('node:')), stdout, stderr, code };
}

/** Source modules under a folder prefix, e.g. matching(run, 'src/db/'). */
export function matching(run: RecordedRun, prefix: string): string[] {
  return run.sources.filter((s) => s.startsWith(prefix));
}
