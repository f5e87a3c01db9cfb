// Builds dist/: one ESM entry (the CLI) code-split so that every command and every worker
// is its own chunk, loaded by `import()` only when used (DESIGN §1, §6).
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';

// Node built-ins are reached through `require` instead of ESM imports: an ESM import of a built-in
// builds its module facade, which reads every export and so runs every lazy getter (importing
// `node:fs` that way costs ~0.7 MB per process; `require('node:fs')` costs nothing extra).
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
export const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
      if (!builtins.has(args.path) && !args.path.startsWith('node:')) return undefined;
      // `await import('node:x')` needs the named exports, which a CommonJS wrapper chunk does not
      // give (it exports only `default`): dynamic imports stay native.
      if (args.kind !== 'import-statement') return { path: args.path, external: true };
      return { path: args.path.startsWith('node:') ? args.path : `node:${args.path}`, namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** The bundle options every entry uses (the benchmarks bundle their fixtures with them too). */
export function buildBundle(overrides) {
  return build({ ...bundleOptions, ...overrides });
}

const bundleOptions = {
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
  plugins: [builtinsViaRequire],
  // Native addons and optional native accelerators stay outside the bundle.
  external: ['*.node', 'cpu-features', 'pg-native'],
  // CommonJS dependencies inside an ESM bundle need a real `require` for Node built-ins (created on
  // first use: most chunks never call it), and some read `__dirname`/`__filename` at load time
  // (ssh2's agent.js): give them the chunk's own.
  banner: {
    js: "let __decnetRealRequire; const __decnetLoadRequire = () => (__decnetRealRequire ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)); const require = Object.assign((id) => __decnetLoadRequire()(id), { resolve: (id, o) => __decnetLoadRequire().resolve(id, o) }); const __decnetFilename = import.meta.filename; const __decnetDirname = import.meta.dirname;",
  },
  define: { DECNET_VERSION: JSON.stringify(version), __dirname: '__decnetDirname', __filename: '__decnetFilename' },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  rmSync('dist', { recursive: true, force: true });
  const result = await buildBundle({ entryPoints: { decnet: 'src/cli/main.ts' }, outdir: 'dist' });
  writeFileSync('dist/meta.json', JSON.stringify(result.metafile));
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
  process.stdout.write(`build: ${outputs.length} chunks in dist/ (${Date.now() - started} ms)\n`);
}
