/**
 * The layering the README describes, checked on the sources: the core (used by the CLI, the worker and the
 * host) imports nothing above it and no `vscode`, and its modules import each other without cycles.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
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

/** A test file's code with comments and string literals blanked, so that only code is matched. */
function codeOnly(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/gm, (m) => (/^['"`]/.test(m) ? "''" : ''));
}

/** The test sources: test/**\/*.ts (the recorded layouts under test/fixtures are data). */
const testFiles = () => sourceFiles(path.join(root, 'test')).filter((f) => !f.startsWith(path.join(root, 'test/fixtures') + path.sep));

/** Breaks of the one module convention of the tests: ES imports at the top, node: builtins, no require(). */
export function moduleConventionViolations(source: string): string[] {
  const code = codeOnly(source);
  const problems = [...code.matchAll(/\brequire\s*\(|\bimport\s*\(/g)].map((m) => `${m[0].replace(/\s/g, '')}…) (use a static import at the top)`);
  for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm)) {
    if (builtinModules.includes(specifier)) problems.push(`'${specifier}' (write 'node:${specifier}')`);
  }
  return problems;
}

test('tests follow one module convention: static ES imports (tsx runs them as CommonJS), node: for builtins', () => {
  const files = testFiles();
  assert.ok(files.length > 50, `expected the test sources, found ${files.length}`);
  const problems = files.flatMap((f) => moduleConventionViolations(readFileSync(f, 'utf8')).map((p) => `${path.relative(root, f)}: ${p}`));
  assert.deepEqual(problems, [], problems.join('\n'));
  const broken = ["const s = require('node:stream');", "const { truncate } = await import('node:fs/promises');", "import path from 'path';", "import {\n  readFileSync,\n} from 'fs';"];
  for (const line of broken) assert.equal(moduleConventionViolations(line).length, 1, line);
  assert.deepEqual(moduleConventionViolations("import path from 'node:path'; // not require('x')\nconst s = \"import('y')\";"), []);
});

/** Skips other than through test/support/requirements.ts (which fails them in CI instead). */
export function directSkips(source: string): string[] {
  return [...codeOnly(source).matchAll(/\.(skip|todo)\s*\(|\b(skip|todo)\s*:/g)].map((m) => m[0].replace(/\s/g, ''));
}

test('a test skips only through test/support/requirements.ts, which says why and fails the test in CI', () => {
  const helper = ['test/support/requirements.ts', 'test/pure/requirements.test.ts'].map((f) => path.join(root, f));
  const problems = testFiles().filter((f) => !helper.includes(f)).flatMap((f) => directSkips(readFileSync(f, 'utf8')).map((s) => `${path.relative(root, f)}: ${s}`));
  assert.deepEqual(problems, [], `use hasFixtures or skipOrFailInCi:\n${problems.join('\n')}`);
  for (const line of ['t.skip("no fixtures");', "test('x', { skip: true }, () => {});", 'this.skip();', "t.todo('later');", "suite.skip('menus', () => {});"]) assert.equal(directSkips(line).length, 1, line);
  assert.deepEqual(directSkips("const s = 'input_blocks.4.0.skip_connection'; chosen.skipped[0];"), []);
});
