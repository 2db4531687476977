// Bundles each process of the product into dist/: the extension host, the merge worker (a child process),
// the command-line tool and the safetensors editor's webview (a browser bundle, dist/webview.js + .css). tfjs core and
// its cpu, wasm and webgpu backends are one bundle of their own, dist/tfjs.js (one engine that core and backends
// share), which the Node bundles require at run time when a backend starts (src/core/merge/tfjs-runtime.ts), so that
// a process that never computes does not parse it; the WebAssembly binaries are copied beside the bundles
// (src/core/merge/backends.ts finds them there). What must stay a file stays external: `webgpu` (Dawn's .node
// binary, one per platform, shipped in the platform packages: scripts/package.ts) and tfjs-node(-gpu)
// (libtensorflow, installed by the user).
// The merge panel's page is a second browser bundle (dist/merge-panel.js + .css). `node esbuild.js --watch` rebuilds on change.
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Packages with native code, loaded from node_modules at run time. */
const NATIVE = ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
/** The tfjs WebAssembly binaries, copied into dist/ beside the bundles. */
const WASM_DIR = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** backends.ts requires ./tfjs-runtime when a backend starts: in the bundles, that is dist/tfjs.js beside them. */
const tfjsFromItsBundle = {
  name: 'tfjs-from-its-bundle',
  setup(build) {
    build.onResolve({ filter: /^\.\/tfjs-runtime$/ }, () => ({ path: './tfjs.js', external: true }));
  },
};

/** @type {import('esbuild').BuildOptions} */
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: NATIVE,
  // jsonc-parser's `main` is a UMD build whose inner require() calls esbuild cannot follow (the bundle then fails
  // with "Cannot find module './impl/format'"): bundle its ES module build instead. test/vscode/build.js does the same.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  plugins: [tfjsFromItsBundle],
};

/** @type {import('esbuild').BuildOptions[]} */
const builds = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', ...NATIVE] },
  { ...node, entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js' },
  // The merge worker's compute threads (worker_threads): src/core/merge/compute-pool.ts starts them (process entry in src/worker).
  { ...node, entryPoints: ['src/worker/compute-thread.ts'], outfile: 'dist/compute-thread.js' },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // tfjs core and its backends (src/core/merge/tfjs-runtime.ts), required by the bundles above when a backend starts.
  { ...node, entryPoints: ['src/worker/tfjs-bundle.ts'], outfile: 'dist/tfjs.js', plugins: [] },
  // The webview runs in VS Code's browser sandbox; importing webview/styles.css from main.ts emits dist/webview.css.
  // test/webview/harness.ts bundles the same entry with the same options, in memory.
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
    entryPoints: ['webview/main.ts'],
    outfile: 'dist/webview.js',
  },
  // The merge panel's page (src/extension/merge-panel.ts): its own bundle, dist/merge-panel.js + .css, without the charts.
  {
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
    entryPoints: ['webview/merge-panel-main.ts'],
    outfile: 'dist/merge-panel.js',
  },
];

// The device check for a machine with a GPU (bench/gpu-check.ts) is built only on request.
if (process.argv.includes('--gpu-check')) {
  builds.push({ ...node, entryPoints: ['bench/gpu-check.ts'], outfile: 'dist/gpu-check.js' });
}

async function main() {
  if (watch) {
    const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
    await Promise.all(contexts.map((c) => c.watch()));
    console.log('esbuild: watching for changes');
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
  require('fs').chmodSync('dist/cli.js', 0o755);
  for (const file of WASM_FILES) require('fs').copyFileSync(`${WASM_DIR}/${file}`, `dist/${file}`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
