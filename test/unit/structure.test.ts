/**
 * The layering the README describes, checked on the sources: the core (used by the CLI, the worker and the
 * host) imports nothing above it and no `vscode`, and its modules import each other without cycles.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '../..');
const coreDir = path.join(root, 'src/core');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module a file names: static and type-only imports, re-exports, dynamic import() and require(). */
export function importedSpecifiers(source: string): string[] {
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]));
}

/** What a relative specifier of `file` points at: a .ts path, or a data file (package.json) as named. */
function resolveRelative(file: string, specifier: string): string {
  const target = path.resolve(path.dirname(file), specifier.replace(/\.js$/, ''));
  return /\.(ts|json)$/.test(target) ? target : `${target}.ts`;
}

/** Code above the core; data files such as package.json (the tool's version) are not a layer. */
const isAboveCore = (target: string) => target.endsWith('.ts') && !target.startsWith(coreDir + path.sep);

/** Imports of a core file that break the layering, as `file: specifier (why)`. */
export function layeringViolations(file: string, source: string): string[] {
  const problems: string[] = [];
  for (const specifier of importedSpecifiers(source)) {
    const where = path.relative(root, file);
    if (specifier === 'vscode') problems.push(`${where}: ${specifier} (the core runs outside VS Code too)`);
    else if (specifier.startsWith('.') && isAboveCore(resolveRelative(file, specifier))) {
      problems.push(`${where}: ${specifier} (outside src/core: ${path.relative(root, resolveRelative(file, specifier))})`);
    }
  }
  return problems;
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

test('nothing under src/core imports src/shared, src/extension, src/worker, src/cli, webview/ or vscode', () => {
  const files = sourceFiles(coreDir);
  assert.ok(files.length > 40, `expected the core's sources under ${coreDir}, found ${files.length}`);
  const problems = files.flatMap((file) => layeringViolations(file, readFileSync(file, 'utf8')));
  assert.deepEqual(problems, [], `the core must not depend on the layers above it:\n${problems.join('\n')}`);
});

test('the layering check catches each way of importing upwards', () => {
  const file = path.join(coreDir, 'lora/example.ts');
  const upwards = [
    "import type { ComparisonView } from '../../shared/webview-protocol';",
    "export { x } from '../../extension/log';",
    "const w = await import('../../worker/client');",
    "const c = require('../../cli/main');",
    "import { y } from '../../../webview/format.js';",
    "import * as vscode from 'vscode';",
  ];
  for (const line of upwards) assert.equal(layeringViolations(file, line).length, 1, line);
  const allowed = "import { a } from '../merge/request';\nimport path from 'node:path';\nimport { b } from './naming';\nimport pkg from '../../../package.json';";
  assert.deepEqual(layeringViolations(file, allowed), []);
});

test('the core has no import cycles', () => {
  const files = sourceFiles(coreDir);
  const graph = new Map(files.map((file) => [file, importedSpecifiers(readFileSync(file, 'utf8')).filter((s) => s.startsWith('.')).map((s) => resolveRelative(file, s))]));
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.map((f) => path.relative(root, f)).join(' → ')}`);
});

/** The scripts esbuild.js bundles as Node processes (the builds spread from `node`), as written there. */
export function nodeEntries(buildScript: string): string[] {
  return [...buildScript.matchAll(/\{\s*\.\.\.node\b[^}]*?entryPoints:\s*\[([^\]]*)\]/g)].flatMap((m) => [...m[1].matchAll(/['"]([^'"]+)['"]/g)].map((e) => e[1]));
}

/** Entries under src/ outside the process folders (src/worker, src/extension, src/cli): the core is a library, not a process. */
export function misplacedEntries(entries: readonly string[]): string[] {
  return entries.filter((entry) => entry.startsWith('src/') && !/^src\/(worker|extension|cli)\//.test(entry));
}

test('process entries (the Node entries esbuild.js bundles) live in src/worker, src/extension or src/cli, none in src/core', () => {
  const entries = nodeEntries(readFileSync(path.join(root, 'esbuild.js'), 'utf8'));
  for (const process of ['src/extension/extension.ts', 'src/worker/main.ts', 'src/worker/compute-thread.ts', 'src/cli/main.ts']) assert.ok(entries.includes(process), `${process} among ${entries.join(', ')}`);
  assert.deepEqual(misplacedEntries(entries), [], 'move the entry to the folder of its process');
  assert.deepEqual(misplacedEntries(nodeEntries("{ ...node, entryPoints: ['src/core/merge/compute-thread.ts'], outfile: 'dist/x.js' }")), ['src/core/merge/compute-thread.ts'], 'the rule catches an entry in the core');
});
