// `npm run bench`: runs every benchmark in bench/ (or those named: `npm run bench -- footprint ttp-match`)
// one after another and prints their tables. Benchmarks measure the bundle, so build first.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, ensureBuilt } from './lib/measure.ts';

ensureBuilt();
const all = readdirSync(join(ROOT, 'bench'))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}\n`);
  process.exit(2);
}
let failed = 0;
for (const name of wanted.length ? wanted : all) {
  process.stdout.write(`\n# bench/${name}.ts\n\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', `${name}.ts`)], { stdio: 'inherit' });
  process.stdout.write(`\n(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${r.status})\n`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
