/**
 * The layering docs/architecture.md §4 describes, checked on the sources: the core (used by the CLI, the worker and the
 * host) imports nothing above it and no `vscode`, and its modules import each other without cycles; the
 * webview (a browser bundle) imports only itself, a documented set of pure core modules and protocol types.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { FAMILY_SPECS } from '../../src/core/lora/families';

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
  if (/\.(ts|json)$/.test(target)) return target;
  // A folder import names its index module.
  return existsSync(`${target}.ts`) || !existsSync(path.join(target, 'index.ts')) ? `${target}.ts` : path.join(target, 'index.ts');
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

/** A rule's self-check: each violating line alone gives one problem, the allowed lines together none. */
function assertCatches(check: (file: string, source: string) => string[], file: string, violating: string[], allowed: string[]): void {
  for (const line of violating) assert.equal(check(file, line).length, 1, line);
  assert.deepEqual(check(file, allowed.join('\n')), []);
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
  const allowed = ["import { a } from '../merge/request';", "import path from 'node:path';", "import { b } from './naming';", "import pkg from '../../../package.json';"];
  assertCatches(layeringViolations, file, upwards, allowed);
});

test('the core has no import cycles', () => {
  const files = sourceFiles(coreDir);
  const graph = new Map(files.map((file) => [file, importedSpecifiers(readFileSync(file, 'utf8')).filter((s) => s.startsWith('.')).map((s) => resolveRelative(file, s))]));
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.map((f) => path.relative(root, f)).join(' → ')}`);
});

/** Each import of a file with whether it is erased at build time (`import type`, `export type`, or all-type named bindings). */
export function importsOf(file: string, source: string): { specifier: string; typeOnly: boolean }[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true);
  const found: { specifier: string; typeOnly: boolean }[] = [];
  const allTypeBindings = (bindings: ts.NamedImportBindings | ts.NamedExportBindings | undefined) =>
    bindings !== undefined && (ts.isNamedImports(bindings) || ts.isNamedExports(bindings)) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: Boolean(clause?.isTypeOnly || (clause && !clause.name && allTypeBindings(clause.namedBindings))) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly || allTypeBindings(node.exportClause) });
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]) && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const webviewDir = path.join(root, 'webview');
/** The one webview file that imports the core; what it names is the pure module set (its comment says why each). */
const WEBVIEW_CORE_GATE = path.join(webviewDir, 'core-modules.ts');
/** The protocols of the webview bundles' boundaries: the editor's, and the merge panel's. */
const WEBVIEW_PROTOCOLS = [path.join(root, 'src/shared/webview-protocol.ts'), path.join(root, 'src/shared/merge-panel-protocol.ts')];
const isUnder = (dir: string, target: string) => target.startsWith(dir + path.sep);

/** What a webview file may not import, as `file: specifier (why)`: the browser bundle's boundary. */
export function webviewImportViolations(file: string, source: string): string[] {
  const where = path.relative(root, file);
  return importsOf(file, source).flatMap(({ specifier }) => {
    if (specifier === 'vscode' || specifier.startsWith('node:')) return [`${where}: ${specifier} (the webview runs in a browser sandbox)`];
    // npm packages for the browser (chart.js, @vscode-elements) are the bundle's own dependencies.
    if (!specifier.startsWith('.')) return [];
    const target = resolveRelative(file, specifier);
    if (isUnder(webviewDir, target)) return [];
    // The protocol: its types, and its constants (the pure-closure check below covers its runtime imports).
    if (WEBVIEW_PROTOCOLS.includes(target)) return [];
    if (file === WEBVIEW_CORE_GATE && isUnder(coreDir, target)) return [];
    return [`${where}: ${specifier} (outside webview/: the core only through webview/core-modules.ts, src/shared only the protocols)`];
  });
}

/** Runtime imports in the closure of `modules` that a browser bundle cannot run, as `file: specifier`. */
export function impureImports(modules: string[], read: (file: string) => string): string[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { specifier, typeOnly } of importsOf(file, read(file))) {
      if (typeOnly) continue;
      const target = specifier.startsWith('.') ? resolveRelative(file, specifier) : '';
      if (target && (isUnder(coreDir, target) || WEBVIEW_PROTOCOLS.includes(target)) && target.endsWith('.ts')) visit(target);
      else problems.push(`${path.relative(root, file)}: ${specifier}`);
    }
  };
  modules.forEach(visit);
  return problems;
}

test('the webview imports only webview/, the pure core modules of webview/core-modules.ts, and the webview protocol', () => {
  const files = sourceFiles(webviewDir);
  assert.ok(files.includes(WEBVIEW_CORE_GATE) && files.length > 20, `expected the webview's sources under ${webviewDir}, found ${files.length}`);
  const problems = files.flatMap((file) => webviewImportViolations(file, readFileSync(file, 'utf8')));
  assert.deepEqual(problems, [], `the webview's imports leave its boundary:\n${problems.join('\n')}`);
  const gate = importsOf(WEBVIEW_CORE_GATE, readFileSync(WEBVIEW_CORE_GATE, 'utf8')).map((i) => resolveRelative(WEBVIEW_CORE_GATE, i.specifier));
  assert.ok(gate.length > 0 && gate.every((target) => isUnder(coreDir, target)), `webview/core-modules.ts names only core modules: ${gate.join(', ')}`);
  const impure = impureImports([...gate, ...WEBVIEW_PROTOCOLS], (file) => readFileSync(file, 'utf8'));
  assert.deepEqual(impure, [], `a module the webview runs imports what a browser bundle cannot run (node:, vscode, a package, or code outside src/core):\n${impure.join('\n')}`);
});

test('the webview import check catches each way out of the webview and each impure core import', () => {
  const file = path.join(webviewDir, 'views/example.ts');
  // Why each is refused, then the line.
  const outside = Object.values({
    'core code not through the gate': "import { blockOf } from '../../src/core/lora/network-blocks.js';",
    'core types not through the protocol': "import type { LoraSummary } from '../../src/core/lora/summary.js';",
    'host-side shared code': "import { comparisonView } from '../../src/shared/comparison-view.js';",
    'the extension host': "export { x } from '../../src/extension/log.js';",
    'a Node built-in, dynamically': "const fs = await import('node:fs');",
    'the VS Code API': "import * as vscode from 'vscode';",
  });
  const allowed = [
    "import type { FileView } from '../../src/shared/webview-protocol.js';",
    "import { REPORT_DATA_ELEMENT_ID, type HostToWebview } from '../../src/shared/webview-protocol.js';",
    "import { el } from '../dom.js';",
    "import { Chart } from 'chart.js';",
    "import { blockOf } from '../core-modules.js';",
  ];
  assertCatches(webviewImportViolations, file, outside, allowed);
  const sources: Record<string, string> = {
    [path.join(coreDir, 'pure.ts')]: "import { b } from './helper';\nimport type { Big } from './heavy';",
    [path.join(coreDir, 'helper.ts')]: "import { readFileSync } from 'node:fs';\nimport * as tf from '@tensorflow/tfjs-core';\nimport { log } from '../extension/log';",
  };
  assert.deepEqual(impureImports([path.join(coreDir, 'pure.ts')], (f) => sources[f]), ['src/core/helper.ts: node:fs', 'src/core/helper.ts: @tensorflow/tfjs-core', 'src/core/helper.ts: ../extension/log']);
});

/**
 * Words that name a model family: every registered family's id (and its parts) plus the names people and trainers
 * use for them. Outside the family specs (src/core/lora/families/), nothing in src/core/lora nor the output layout
 * may name one: naming, recognition, pairing and the output layout loop over the specs.
 */
const FAMILY_WORDS = ['flux', 'bfl', 'chroma', 'sd1', 'sd2', 'sd3', 'sdxl', 'stable diffusion', 'stable-diffusion', 'mmdit', 'wan', 'hunyuan', 'lumina', 'nextdit', 'qwen', 'ltx', 'z-image', 'z_image', 'hidream', 'llm', 'llama', 'roberta', 'bert'];

/** `file:line: word` for each family word in a source text (a word: not inside a longer identifier). */
export function familyNamesIn(file: string, source: string, words: readonly string[]): string[] {
  const pattern = new RegExp(`(?<![a-z0-9])(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')).join('|')})(?![a-z])`, 'gi');
  return source.split('\n').flatMap((line, i) => [...line.matchAll(pattern)].map((m) => `${file}:${i + 1}: ${m[1]}`));
}

test('no file in src/core/lora outside families/ (nor the output layout) names a model family', () => {
  const words = [...new Set([...FAMILY_WORDS, ...FAMILY_SPECS.flatMap((spec) => [spec.id, ...spec.id.split('-')]).filter((w) => w.length > 2 && !['image', 'video'].includes(w))])];
  const familiesDir = path.join(coreDir, 'lora', 'families') + path.sep;
  const files = [...sourceFiles(path.join(coreDir, 'lora')).filter((f) => !f.startsWith(familiesDir)), path.join(coreDir, 'merge', 'output-layout.ts')];
  assert.ok(files.length > 15, `expected the lora sources, found ${files.length}`);
  const found = files.flatMap((file) => familyNamesIn(path.relative(root, file), readFileSync(file, 'utf8'), words));
  assert.deepEqual(found, [], `family knowledge belongs in a spec under src/core/lora/families/:\n${found.join('\n')}`);
  // The check itself: it sees a family in code and in comments, and not inside longer identifiers.
  assert.equal(familyNamesIn('x.ts', "if (family === 'flux') return; // Wan's blocks", words).length, 2);
  assert.deepEqual(familyNamesIn('x.ts', 'const swanky = fluxion; wanted();', words), []);
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
