// Bundles the extension tests for the extension host: out/vscode-tests/index.js (mocha's entry, the
// `extensionTestsPath`) and one file per suite. `vscode` comes from the host; mocha from node_modules
// (it loads its own files at run time, so it is not bundled).
const esbuild = require('esbuild');
const { readdirSync } = require('node:fs');

const suites = readdirSync('test/vscode/suite').filter((f) => f.endsWith('.test.ts')).map((f) => `test/vscode/suite/${f}`);
esbuild
  .build({
    entryPoints: ['test/vscode/index.ts', ...suites],
    outdir: 'out/vscode-tests',
    outbase: 'test/vscode',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    logLevel: 'warning',
    external: ['vscode', 'mocha', '@tensorflow/*', 'webgpu'],
    // As esbuild.js: jsonc-parser's UMD `main` does not bundle, its ES module build does.
    alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
  })
  .catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
