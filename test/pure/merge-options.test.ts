/** One rule and one wording per merge option, whether it comes from the CLI, the extension or a worker request. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMergeArgs } from '../../src/cli/merge';
import { UsageError } from '../../src/cli/usage';
import { MERGE_OPTION_KEYS, validateMergeRequest } from '../../src/core/merge/merge-options';
import { DEFAULT_MERGE_OPTIONS, MergeRequest } from '../../src/core/merge/request';
import { readMergeSettings, validateMergeCommandArgs } from '../../src/extension/merge-arguments';

const valid: MergeRequest = { ...DEFAULT_MERGE_OPTIONS, inputs: [{ path: '/c.safetensors', weight: 1 }, { path: '/s.safetensors', weight: 1 }], output: '/o.safetensors' };
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
  { key: 'lambda', value: -1, flag: '--lambda', text: '-1', says: 'must be a number ≥ 0 or "auto" (got' },
  { key: 'lambda', value: 'often', flag: '--lambda', text: 'often', says: 'must be a number ≥ 0 or "auto" (got' },
  { key: 'learningRate', value: 0, flag: '--lr', text: '0', says: 'must be a number > 0 (got' },
  { key: 'columns', value: 'rows', flag: '--columns', text: 'rows', says: 'must be one of input, output (got "rows")' },
  { key: 'backend', value: 'tpu', flag: '--backend', text: 'tpu', says: 'must be one of auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu (got "tpu")' },
  { key: 'rank', value: 0, flag: '--rank', text: '0', says: 'must be an integer ≥ 1 (got' },
  { key: 'rankEnergy', value: 0, flag: '--rank-energy', text: '0', says: 'must be a number > 0 and ≤ 1 (the share of ‖ΔW‖² kept, e.g. 0.99) (got' },
  { key: 'rankEnergy', value: 1.5, flag: '--rank-energy', text: '1.5', says: 'must be a number > 0 and ≤ 1 (the share of ‖ΔW‖² kept, e.g. 0.99) (got' },
  { key: 'dtype', value: 'F8', flag: '--dtype', text: 'F8', says: 'must be one of auto, F16, BF16, F32 (got "F8")' },
  { key: 'naming', value: 'comfy', flag: '--naming', text: 'comfy', says: 'must be one of first, content, style, kohya, diffusers (got "comfy")' },
  { key: 'threads', value: -1, flag: '--threads', text: '-1', says: 'must be an integer from 0 (one per core) to 256 (got' },
  { key: 'threads', value: 1.5, flag: '--threads', text: '1.5', says: 'must be an integer from 0 (one per core) to 256 (got' },
];

for (const c of cases) {
  test(`${c.key} = ${JSON.stringify(c.value)} is refused with one wording by the worker, the extension and the CLI`, () => {
    const worker = validateMergeRequest({ ...valid, [c.key]: c.value });
    // The worker reads "auto" as itself and a word the CLI cannot parse as NaN: both refused in the same words.
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
  assert.deepEqual(validateMergeRequest(null), ['the merge options must be an object like { inputs, output }']);
  assert.deepEqual(validateMergeRequest({ ...valid, inputs: [valid.inputs[0]] }), [
    'inputs must be a list of 2 to 8 inputs { path, weight } with weights from 0 to 4 (got [{"path":"/c.safetensors","weight":1}])',
  ]);
  assert.equal(validateMergeRequest({ ...valid, inputs: [valid.inputs[0], { path: '/s.safetensors', weight: 5 }] }).length, 1, 'a weight above 4');
  assert.deepEqual(validateMergeRequest({ ...valid, directWeights: [1] }), ['unknown option "directWeights"']);
  assert.deepEqual(validateMergeRequest({ ...valid, sparsityThreshold: 2 }), ['sparsityThreshold must be a number from 0 to 1 (got 2)']);
  assert.deepEqual(validateMergeRequest({ ...valid, blocks: [{ block: 'unet.mid_block', weights: [1, 0.5, 2] }] }), ['block rule unet.mid_block=1,0.5,2: give one weight per input: 2 numbers (got 3)']);
  assert.deepEqual(validateMergeRequest({ ...valid, lambda: 'auto', rankEnergy: 0.99 }), []);
  assert.deepEqual(validateMergeRequest({ ...valid, allowMixedExperts: 'yes' }), ['allowMixedExperts must be true or false (got "yes")']);
  assert.equal(MERGE_OPTION_KEYS.length, Object.keys(valid).length + 4, 'every request field, rank, rankEnergy, recipe and allowMixedExperts have a rule');
});

test('the CLI parses words case-insensitively and numbers strictly, and names the output flag', () => {
  const { request } = parseMergeArgs([...cliBase, '--dtype', 'bf16', '--backend', 'WASM', '--steps', '20', '--content-weight', '0.5', '--solver', 'Adam']);
  assert.equal(request.solver, 'adam');
  assert.equal(parseMergeArgs(cliBase).request.solver, 'newton');
  assert.equal(request.dtype, 'BF16');
  assert.equal(request.backend, 'wasm');
  assert.equal(request.steps, 20);
  assert.deepEqual(request.inputs, [{ path: 'c.safetensors', weight: 0.5 }, { path: 's.safetensors', weight: 1 }], '--content-weight is input 1\'s strength');
  assert.equal(request.threads, 0, 'one thread per core unless asked');
  assert.equal(parseMergeArgs([...cliBase, '--threads', '3']).request.threads, 3);
  assert.equal(cliProblem(['--steps', ' ']), '--steps must be an integer from 0 to 100000 (got " ")');
  assert.equal(cliProblem(['--style-weight', 'x']), '--content-weight and --style-weight must be numbers from 0 to 4, one per input (got 1,x)');
  assert.equal(parseMergeArgs([...cliBase, '--lambda', 'AUTO']).request.lambda, 'auto');
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

test('the CLI takes 2 to 8 inputs with --weights and repeated --block rules, and refuses what does not fit them', () => {
  const three = ['a.safetensors', 'b.safetensors', 'c.safetensors', '-o', 'o.safetensors'];
  const { request } = parseMergeArgs([...three, '--weights', '1,0.5,0', '--block', 'unet.mid_block=1,0,2', '--block', 'text_encoder:skip', '--rank-energy', '0.99']);
  assert.deepEqual(request.inputs.map((i) => i.weight), [1, 0.5, 0]);
  assert.deepEqual(request.blocks, [{ block: 'unet.mid_block', weights: [1, 0, 2] }, { block: 'text_encoder', method: 'skip' }]);
  assert.equal(request.rankEnergy, 0.99);
  assert.equal(request.naming, 'first');
  const problem = (args: string[]) => {
    try {
      parseMergeArgs(args);
    } catch (error) {
      assert.ok(error instanceof UsageError, String(error));
      return error.message;
    }
    assert.fail(`the CLI accepted ${args.join(' ')}`);
  };
  assert.equal(problem([...three, '--weights', '1,2']), '--weights needs one weight per input: 3 numbers separated by commas (got 2)');
  assert.equal(problem([...three, '--weights', '1,2,9']), '--weights must be numbers from 0 to 4, one per input (got 1,2,9)');
  assert.equal(problem([...three, '--content-weight', '0.5']), '--content-weight and --style-weight are for two inputs; with 3, give --weights with 3 numbers');
  assert.equal(problem([...cliBase, '--weights', '1,1', '--style-weight', '2']), 'give the weights once: --weights, or --content-weight and --style-weight');
  assert.equal(problem([...three, '--block', 'unet.mid_block=1,2']), '--block unet.mid_block=1,2: give one weight per input: 3 numbers (got 2)');
  assert.match(problem([...three, '--block', 'unet.mid_block:blend']), /^--block unet\.mid_block:blend: the method must be one of zip, direct, skip/);
  assert.equal(problem([...three, '--naming', 'style']), '--naming style names the second of two inputs; with 3, use first, kohya or diffusers');
  assert.equal(problem(['a.safetensors', '-o', 'o.safetensors']), 'merge takes 2 to 8 LoRA files (got 1), or --recipe FILE');
  assert.equal(problem([...Array.from({ length: 9 }, (_, i) => `${i}.safetensors`), '-o', 'o.safetensors']), 'merge takes 2 to 8 LoRA files (got 9), or --recipe FILE');
});

test('--recipe with another number of files: method-only block rules are kept, weighted ones refused, never dropped', () => {
  const recipe: MergeRequest = { ...valid, blocks: [{ block: 'text_encoder', method: 'skip' }] };
  const three = ['a.safetensors', 'b.safetensors', 'c.safetensors', '-o', 'o.safetensors', '--recipe', 'r.ziplora.json'];
  assert.deepEqual(parseMergeArgs(three, recipe).request.blocks, [{ block: 'text_encoder', method: 'skip' }]);
  const weighted: MergeRequest = { ...valid, blocks: [{ block: 'unet.mid_block', weights: [1, 0.5] }] };
  assert.throws(() => parseMergeArgs(three, weighted), (e: Error) => e instanceof UsageError && /give weights for 2 inputs .* 3 files are given: give --block rules for 3 inputs/.test(e.message));
  // --block given beside the recipe replaces its rules.
  assert.deepEqual(parseMergeArgs([...three, '--block', 'unet.mid_block=1,1,0'], weighted).request.blocks, [{ block: 'unet.mid_block', weights: [1, 1, 0] }]);
});
