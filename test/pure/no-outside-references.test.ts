/**
 * Nothing in the repository refers a reader to a document outside it: a person who clones the project must be
 * able to follow every reference. The shared test fixtures beside the checkout are data, not documents, and stay
 * allowed (`../shared/fixtures`).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '../..');
const CHECKED = /\.(md|ts|js|cjs|mjs|json)$/;
/** Build output, dependencies and local scratch folders: not the repository's own text. */
const SKIPPED = new Set(['.git', 'node_modules', 'dist', 'out', '.test-output', '.bench', '.gpu']);

/** What points outside: the design notes by section or by name, and the notes folder beside the checkout. */
const OUTSIDE = [
  { pattern: /DESIGN\s*§/, what: 'a section of the outside design notes (cite docs/merge-method.md §N or docs/architecture.md §N)' },
  { pattern: /DESIGN\.md/, what: 'the outside design notes (the repository has docs/)' },
  { pattern: /shared\/notes/, what: 'the notes folder outside the repository' },
  { pattern: /\bissue \d+/i, what: "this project's issue tracker, which a clone does not have (say what, not which issue)" },
];

function repositoryFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return repositoryFiles(full);
    return CHECKED.test(entry.name) ? [full] : [];
  });
}

/** `line N: text — what it refers to` for each reference to a document outside the repository. */
export function outsideReferences(text: string): string[] {
  return text.split('\n').flatMap((line, i) =>
    OUTSIDE.filter(({ pattern }) => pattern.test(line)).map(({ what }) => `line ${i + 1}: ${line.trim().slice(0, 100)} — ${what}`),
  );
}

test('the checker finds references to outside documents and allows the shared fixtures', () => {
  // Spelled in pieces, so that this file does not match its own check.
  const notes = 'DESIGN';
  const sample = [
    `/** The objective of one layer (${notes} §5). */`,
    `as written in ${notes}.md`,
    `see ../shared/${'notes'}/README.md`,
    "const REAL_FIXTURES = path.resolve(__dirname, '../../../shared/fixtures/real');",
    `the memory benchmark (${'issue'} 18 point 4)`,
    'the objective (docs/merge-method.md §2)',
  ].join('\n');
  assert.deepEqual(outsideReferences(sample).map((found) => found.slice(0, 7)), ['line 1:', 'line 2:', 'line 3:', 'line 5:']);
});

test('no file in the repository refers to a document outside it', () => {
  const files = repositoryFiles(root);
  assert.ok(files.some((file) => file.endsWith('README.md')) && files.length > 100, `only ${files.length} files found under ${root}`);
  const found = files.flatMap((file) => outsideReferences(readFileSync(file, 'utf8')).map((hit) => `${path.relative(root, file)} ${hit}`));
  assert.deepEqual(found, [], `references to documents outside the repository:\n${found.join('\n')}`);
});
