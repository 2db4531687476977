/** One rule and one wording per merge option, whether it comes from the CLI, the extension or a worker request. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMergeArgs } from '../../src/cli/merge';
import { UsageError } from '../../src/cli/usage';
import { MERGE_OPTION_KEYS, validateMergeRequest } from '../../src/core/merge/merge-options';
import { DEFAULT_MERGE_OPTIONS, MergeRequest } from '../../src/core/merge/request';
import { readMergeSettings, validateMergeCommandArgs } from '../../src/extension/merge-arguments';

const valid: MergeRequest = { ...DEFAULT_MERGE_OPTIONS, content: '/c.safetensors', style: '/s.safetensors', output: '/o.safetensors' };
const cliBase = ['c.safetensors', 's.safetensors', '-o', 'o.safetensors'];

function cliProblem(args: string[]): string {
  try {
    parseMergeArgs([...cliBase, ...args]);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail(`the CLI accepted ${args.join(' ')}`);
}

// The same bad value, as each caller spells the option; the words after the option's name are the same.
const cases: { key: keyof MergeRequest; value: unknown; flag: string; text: string; says: string }[] = [
  { key: 'method', value: 'sum', flag: '--method', text: 'sum', says: 'must be one of ziplora, direct (got "sum")' },
  { key: 'solver', value: 'lbfgs', flag: '--solver', text: 'lbfgs', says: 'must be one of newton, adam (got "lbfgs")' },
  { key: 'steps', value: -3, flag: '--steps', text: '-3', says: 'must be an integer from 0 to 100000 (got' },
  { key: 'steps', value: 2.5, flag: '--steps', text: '2.5', says: 'must be an integer from 0 to 100000 (got' },
  { key: 'lambda', value: -1, flag: '--lambda', text: '-1', says: 'must be a number ≥ 0 (got' },
  { key: 'learningRate', value: 0, flag: '--lr', text: '0', says: 'must be a number > 0 (got' },
  { key: 'columns', value: 'rows', flag: '--columns', text: 'rows', says: 'must be one of input, output (got "rows")' },
  { key: 'backend', value: 'tpu', flag: '--backend', text: 'tpu', says: 'must be one of auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu (got "tpu")' },
  { key: 'rank', value: 0, flag: '--rank', text: '0', says: 'must be an integer ≥ 1 (got' },
  { key: 'dtype', value: 'F8', flag: '--dtype', text: 'F8', says: 'must be one of auto, F16, BF16, F32 (got "F8")' },
  { key: 'naming', value: 'comfy', flag: '--naming', text: 'comfy', says: 'must be one of content, style, kohya, diffusers (got "comfy")' },
  { key: 'threads', value: -1, flag: '--threads', text: '-1', says: 'must be an integer from 0 (one per core) to 256 (got' },
  { key: 'threads', value: 1.5, flag: '--threads', text: '1.5', says: 'must be an integer from 0 (one per core) to 256 (got' },
];

for (const c of cases) {
  test(`${c.key} = ${JSON.stringify(c.value)} is refused with one wording by the worker, the extension and the CLI`, () => {
    const worker = validateMergeRequest({ ...valid, [c.key]: c.value });
    const host = validateMergeCommandArgs({ [c.key]: c.value });
    const cli = cliProblem([`${c.flag}=${c.text}`]);
    assert.equal(worker.length, 1, JSON.stringify(worker));
    assert.deepEqual(host, worker);
    assert.ok(worker[0].startsWith(`${c.key} ${c.says}`), worker[0]);
    assert.ok(cli.startsWith(`${c.flag} ${c.says}`), cli);
  });
}

test('a valid request passes; a missing option, an unknown one and a non-object are named', () => {
  assert.deepEqual(validateMergeRequest(valid), []);
  assert.deepEqual(validateMergeRequest({ ...valid, rank: 8 }), []);
  const { steps: _steps, ...withoutSteps } = valid;
  assert.deepEqual(validateMergeRequest(withoutSteps), ['steps is missing (it must be an integer from 0 to 100000)']);
  assert.deepEqual(validateMergeRequest({ ...valid, stepz: 3 }), ['unknown option "stepz"']);
  assert.deepEqual(validateMergeRequest(null), ['the merge options must be an object like { content, style, output }']);
  assert.deepEqual(validateMergeRequest({ ...valid, directWeights: [1] }), ['directWeights must be two finite numbers (got [1])']);
  assert.deepEqual(validateMergeRequest({ ...valid, sparsityThreshold: 2 }), ['sparsityThreshold must be a number from 0 to 1 (got 2)']);
  assert.equal(MERGE_OPTION_KEYS.length, Object.keys(valid).length + 1, 'every request field and rank have a rule');
});

test('the CLI parses words case-insensitively and numbers strictly, and names the output flag', () => {
  const { request } = parseMergeArgs([...cliBase, '--dtype', 'bf16', '--backend', 'WASM', '--steps', '20', '--content-weight', '0.5', '--solver', 'Adam']);
  assert.equal(request.solver, 'adam');
  assert.equal(parseMergeArgs(cliBase).request.solver, 'newton');
  assert.equal(request.dtype, 'BF16');
  assert.equal(request.backend, 'wasm');
  assert.equal(request.steps, 20);
  assert.deepEqual(request.directWeights, [0.5, 1]);
  assert.equal(request.threads, 0, 'one thread per core unless asked');
  assert.equal(parseMergeArgs([...cliBase, '--threads', '3']).request.threads, 3);
  assert.equal(cliProblem(['--steps', ' ']), '--steps must be an integer from 0 to 100000 (got " ")');
  assert.equal(cliProblem(['--style-weight', 'x']), '--content-weight and --style-weight must be two finite numbers (got [null,"x"])');
  assert.throws(() => parseMergeArgs(['c.safetensors', 's.safetensors', '-o', 'o.bin']), { message: '-o must be a file path ending in .safetensors (got "o.bin")' });
});

test('settings are checked by the rule of the option they feed', () => {
  const settings = readMergeSettings((key) => ({ steps: 2.5, learningRate: 0, outputDtype: 'F16', outputRank: -4, sparsityThreshold: 1.5, solver: 'sgd' })[key as 'steps']);
  assert.equal(settings.steps, DEFAULT_MERGE_OPTIONS.steps);
  assert.equal(settings.solver, DEFAULT_MERGE_OPTIONS.solver);
  assert.equal(readMergeSettings((key) => (key === 'solver' ? 'adam' : undefined)).solver, 'adam');
  assert.equal(settings.learningRate, DEFAULT_MERGE_OPTIONS.learningRate);
  assert.equal(settings.outputDtype, 'F16');
  assert.equal(settings.outputRank, 0);
  assert.equal(settings.sparsityThreshold, DEFAULT_MERGE_OPTIONS.sparsityThreshold);
});
