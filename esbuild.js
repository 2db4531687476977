// Bundles each process of the product into dist/: the extension host, the merge worker (a child process),
// the command-line tool and the safetensors editor's webview (a browser bundle, dist/webview.js + .css). The tfjs packages and optional GPU backends are loaded at run time from
// node_modules (src/core/merge/backends.ts), so that every backend shares one tfjs engine.
// The merge panel's page is a second browser bundle (dist/merge-panel.js + .css). `node esbuild.js --watch` rebuilds on change.
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  external: ['@tensorflow/*', 'webgpu'],
  // jsonc-parser's `main` is a UMD build whose inner require() calls esbuild cannot follow (the bundle then fails
  // with "Cannot find module './impl/format'"): bundle its ES module build instead. test/vscode/build.js does the same.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
};

/** @type {import('esbuild').BuildOptions[]} */
const builds = [
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', '@tensorflow/*', 'webgpu'] },
  { ...node, entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js' },
  // The merge worker's compute threads (worker_threads): src/core/merge/compute-pool.ts starts them (process entry in src/worker).
  { ...node, entryPoints: ['src/worker/compute-thread.ts'], outfile: 'dist/compute-thread.js' },
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
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
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
