// Builds dist/: the CLI entry code-split so that every command and every worker is its own chunk,
// loaded by `import()` only when used (DESIGN §1, §6), plus a few hand-picked layers (see LAYERS).
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { relative, resolve } from 'node:path';

// Node built-ins are taken from `process.getBuiltinModule` instead of ESM imports: importing
// `node:fs` and `node:net` as ESM costs a process ~1.4 MB PSS more than taking the same modules from
// `process.getBuiltinModule` (measured on Node 24), and `require` would first load `node:module` to
// create one.
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
export const builtinsAsModules = {
  name: 'builtins-as-modules',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
      if (!builtins.has(args.path) && !args.path.startsWith('node:')) return undefined;
      // `await import('node:x')` needs the named exports, which a CommonJS wrapper does not give
      // (it exports only `default`): dynamic imports stay native.
      if (args.kind !== 'import-statement') return { path: args.path, external: true };
      // One wrapper per importing file: a wrapper shared by files of different chunks would become
      // a chunk of its own (a whole ESM module for one line).
      const id = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      return { path: `${id}?${relative(ROOT, args.importer)}`, namespace: 'builtin' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({ contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path.split('?')[0])});`, loader: 'js' }));
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
  plugins: [builtinsAsModules],
  // Native addons and optional native accelerators stay outside the bundle.
  external: ['*.node', 'cpu-features', 'pg-native'],
  // CommonJS dependencies inside an ESM bundle need a real `require` for Node built-ins (created on
  // first use: most chunks never call it), and some read `__dirname`/`__filename` at load time
  // (ssh2's agent.js): those names are replaced by `import.meta` reads where they occur.
  banner: {
    js: "let __decnetRealRequire; const __decnetLoadRequire = () => (__decnetRealRequire ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)); const require = Object.assign((id) => __decnetLoadRequire()(id), { resolve: (id, o) => __decnetLoadRequire().resolve(id, o) });",
  },
  define: { DECNET_VERSION: JSON.stringify(version), __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
};

// Layers: groups of modules bundled as one file each. esbuild's automatic splitting groups modules
// by the set of entries that reach them, which cuts the code every worker process needs (host,
// supervisor, bus client, logging) into ~25 small chunks, and every ESM module a process loads
// costs it ~35-60 KB (module record, scope, resolution). A layer is the static-import closure of
// its roots minus the lower layers; each module lives in exactly one place, so there is one
// instance of every class in a process. Other code imports a layer as `#layer/<name>` (package.json
// "imports"); a layer's dynamic imports of code outside it point at named entries of the main build.
export const LAYERS = [
  // What `decnet --help` and every command need (errors, argument parser, worker registry): kept
  // apart so that help loads no runtime.
  { name: 'base', roots: ['src/core/errors.ts', 'src/cli/args.ts', 'src/fleet/registry.ts', 'src/cli/worker-command.ts'] },
  // Helpers nearly every command and worker uses (logging, environment, paths, clocks, topic names),
  // kept apart from the runtime so that one-shot commands load no bus client.
  { name: 'core', roots: ['src/core/log.ts', 'src/core/env.ts', 'src/core/paths.ts', 'src/core/clock.ts', 'src/bus/topics.ts', 'src/bus/subject.ts'] },
  // What every process hosting workers loads: host, supervisor, bus client.
  { name: 'runtime', roots: ['src/fleet/standalone.ts', 'src/fleet/load-workers.ts', 'src/fleet/host.ts', 'src/bus/connect.ts', 'src/bus/unix-client.ts'] },
];

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const rel = (abs) => relative(ROOT, abs);
const isBuiltin = (p) => builtins.has(p) || p.startsWith('node:');

/** Maps an import to its layer's specifier when the imported file belongs to a layer. */
function layerImports(owner, lazyEntries, inLayer) {
  return {
    name: 'layer-imports',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const target = resolve(args.resolveDir, args.path);
        const layer = owner.get(target);
        if (layer && layer !== inLayer) return { path: `#layer/${layer}`, external: true };
        if (inLayer && !layer && args.kind === 'dynamic-import') {
          // A layer's lazy import of code outside every layer: a named entry of the main build.
          const name = `lazy/${rel(target).replace(/^src\//, '').replace(/\.ts$/, '').replaceAll('/', '-')}`;
          const taken = lazyEntries.get(name);
          if (taken && taken !== target) throw new Error(`lazy entries ${rel(taken)} and ${rel(target)} would share the name ${name}`);
          lazyEntries.set(name, target);
          return { path: `../${name}.js`, external: true };
        }
        return undefined;
      });
    },
  };
}

/** The static-import closure of a layer's roots, without lower layers' modules. */
async function layerMembers(layer, owner) {
  const stopAtBoundaries = {
    name: 'closure-boundaries',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'dynamic-import' || isBuiltin(args.path)) return { path: args.path, external: true };
        if (args.path.startsWith('.') && owner.has(resolve(args.resolveDir, args.path))) return { path: args.path, external: true };
        return undefined;
      });
    },
  };
  const result = await build({ entryPoints: layer.roots, bundle: true, write: false, outdir: 'dist', format: 'esm', platform: 'node', metafile: true, logLevel: 'error', plugins: [stopAtBoundaries] });
  return Object.keys(result.metafile.inputs).map((p) => resolve(ROOT, p));
}

async function buildAll() {
  const owner = new Map(); // absolute module path -> layer name
  for (const layer of LAYERS) {
    const members = await layerMembers(layer, owner);
    const foreign = members.filter((m) => !m.startsWith(`${ROOT}/src/`));
    if (foreign.length) throw new Error(`layer ${layer.name} would hold code outside src/ (${foreign.map(rel).join(', ')}): layers hold our own code only`);
    for (const m of members) owner.set(m, layer.name);
  }
  const lazyEntries = new Map(); // main-build entry name -> absolute path
  const outputs = {};
  for (const layer of LAYERS) {
    const members = [...owner].filter(([, name]) => name === layer.name).map(([m]) => m);
    const entry = members.map((m) => `export * from ${JSON.stringify(m)};`).join('\n');
    const result = await buildBundle({
      stdin: { contents: entry, resolveDir: ROOT, sourcefile: `layer:${layer.name}`, loader: 'ts' },
      outfile: `dist/layers/${layer.name}.js`,
      splitting: false,
      plugins: [builtinsAsModules, layerImports(owner, lazyEntries, layer.name)],
    });
    Object.assign(outputs, result.metafile.outputs);
  }
  const main = await buildBundle({
    entryPoints: { decnet: 'src/cli/main.ts', ...Object.fromEntries(lazyEntries) },
    outdir: 'dist',
    plugins: [builtinsAsModules, layerImports(owner, lazyEntries)],
  });
  Object.assign(outputs, main.metafile.outputs);
  checkLayerImports(outputs);
  return { outputs };
}

/** Every name the code imports from a layer must be one the layer exports (an `export *` clash
 * between two of its modules would silently drop the name). */
function checkLayerImports(outputs) {
  const exported = new Map(LAYERS.map((l) => [l.name, new Set(outputs[`dist/layers/${l.name}.js`].exports)]));
  for (const file of Object.keys(outputs).filter((f) => f.endsWith('.js'))) {
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/import\{([^}]*)\}from"#layer\/([a-z]+)"/g)) {
      for (const spec of m[1].split(',')) {
        const name = spec.trim().split(/\s+as\s+/)[0];
        if (!exported.get(m[2])?.has(name)) throw new Error(`${file} imports '${name}' from layer ${m[2]}, which does not export it (name clash inside the layer?)`);
      }
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  rmSync('dist', { recursive: true, force: true });
  const { outputs } = await buildAll();
  writeFileSync('dist/meta.json', JSON.stringify({ outputs }));
  const files = Object.keys(outputs).filter((f) => f.endsWith('.js'));
  process.stdout.write(`build: ${files.length} files in dist/ (${LAYERS.length} layers) in ${Date.now() - started} ms\n`);
}
