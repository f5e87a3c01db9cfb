// Builds dist/: one ESM entry (the CLI) code-split so that every command and every worker
// is its own chunk, loaded by `import()` only when used (DESIGN §1, §6).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

const started = Date.now();
rmSync('dist', { recursive: true, force: true });
const result = await build({
  entryPoints: { decnet: 'src/cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  keepNames: true,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // Native addons and optional native accelerators stay outside the bundle.
  external: ['*.node', 'cpu-features', 'pg-native'],
  // CommonJS dependencies inside an ESM bundle need a real `require` for Node built-ins.
  banner: { js: "import { createRequire as __decnetCreateRequire } from 'node:module'; const require = __decnetCreateRequire(import.meta.url);" },
});
writeFileSync('dist/meta.json', JSON.stringify(result.metafile));
const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
process.stdout.write(`build: ${outputs.length} chunks in dist/ (${Date.now() - started} ms)\n`);
