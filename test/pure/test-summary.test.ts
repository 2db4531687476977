/** The test command's closing line counts every runner's passes, failures and skips, and lists each skip with its reason. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runProblems, summarize } from '../../scripts/test-summary';
import { inCi } from '../support/requirements';

const nodeRun = `ok 1 - reads a header
ok 2 - real fixtures # SKIP ../shared/fixtures/real is missing: clone the project beside ../shared
    ok 1 - nested case
not ok 3 - writes a file
# tests 4
# pass 2
# fail 1
# skipped 1
# todo 0
`;
const mochaRun = `  merge
    ✔ writes the merged LoRA (1435ms)
    - refuses a read-only folder
  3 passing (10s)
  1 pending
  2 failing
`;

test('counts from node:test and mocha are added up, and each skip is listed with its reason', () => {
  const counts = summarize([nodeRun, mochaRun]);
  assert.equal(counts.passed, 5);
  assert.equal(counts.failed, 3);
  assert.equal(counts.skipped, 2);
  assert.deepEqual(counts.skips, ['real fixtures — ../shared/fixtures/real is missing: clone the project beside ../shared', 'refuses a read-only folder — pending in the VS Code suite']);
});

test('a run with nothing skipped lists nothing', () => {
  assert.deepEqual(summarize(['# pass 7\n# fail 0\n# skipped 0\n', '  12 passing (10s)\n']), { passed: 19, failed: 0, skipped: 0, skips: [] });
});

test('a failed test fails the run; a skipped one only in CI, which CI=true or CI=1 marks', () => {
  const clean = { passed: 3, failed: 0, skipped: 0, skips: [] };
  const skipped = { ...clean, skipped: 1, skips: ['real fixtures — needs ../shared/fixtures/real'] };
  assert.deepEqual(runProblems(clean, true), []);
  assert.deepEqual(runProblems(skipped, false), []);
  assert.deepEqual(runProblems(skipped, true), ['1 skipped with CI=true, where every test must run']);
  assert.deepEqual(runProblems({ ...skipped, failed: 2 }, false), ['2 failed']);
  assert.deepEqual([{ CI: 'true' }, { CI: '1' }, { CI: 'false' }, {}].map((env) => inCi(env)), [true, true, false, false]);
});
