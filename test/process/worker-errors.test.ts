/**
 * Errors raised inside the worker process reach the caller with the text the merge itself gives: through the
 * client (the extension's path) as the rejection's message, and through `ziplora merge` as exactly one line
 * `ziplora: MESSAGE` on stderr with exit status 1 — one error class per case.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runMerge } from '../../src/core/merge/pipeline';
import { MergeRequest } from '../../src/core/merge/request';
import { describeError } from '../../src/core/safetensors/errors';
import { startMerge } from '../../src/worker/client';
import { tempDir } from '../support/build-safetensors';
import { BROKEN_INPUTS, mergeRequest, writePair } from '../support/merge-fixtures';
import { runCli } from '../support/run-cli';

const root = tempDir('worker-errors-');
let counter = 0;
async function setUp() {
  const dir = path.join(root, `case-${++counter}`);
  mkdirSync(dir);
  return { dir, ...(await writePair(dir)) };
}

/** Each case: the error class it raises, and a request (the CLI runs the same request from its flags). */
const CASES: { name: string; pattern: RegExp; request: () => Promise<MergeRequest> }[] = [
  {
    name: 'SafetensorsError (an input that does not exist)',
    pattern: /missing\.safetensors: no such file — check the path$/,
    request: async () => {
      const { dir, style } = await setUp();
      return mergeRequest(path.join(dir, 'missing.safetensors'), style, path.join(dir, 'out.safetensors'));
    },
  },
  {
    name: 'SafetensorsError (an input that is not a plain LoRA: LoKr)',
    pattern: /lokr\.safetensors: holds .*LoKr.*not a plain B·A LoRA/,
    request: async () => {
      const { dir, content } = await setUp();
      const lokr = path.join(dir, 'lokr.safetensors');
      await BROKEN_INPUTS.lokr(lokr);
      return mergeRequest(content, lokr, path.join(dir, 'out.safetensors'));
    },
  },
  {
    name: 'SafetensorsError (an existing output without --force)',
    pattern: /taken\.safetensors: already exists — choose another output path, or allow overwriting \(--force\)$/,
    request: async () => {
      const { dir, content, style } = await setUp();
      writeFileSync(path.join(dir, 'taken.safetensors'), 'an earlier file');
      return mergeRequest(content, style, path.join(dir, 'taken.safetensors'));
    },
  },
  {
    name: 'MergeError (LoRAs for different base models)',
    pattern: /^cannot merge content-kohya\.safetensors and wide\.safetensors: /,
    request: async () => {
      const { dir, content } = await setUp();
      await BROKEN_INPUTS.wide(path.join(dir, 'wide.safetensors'));
      return mergeRequest(content, path.join(dir, 'wide.safetensors'), path.join(dir, 'out.safetensors'));
    },
  },
  {
    name: 'NonFiniteFactorError (NaN in a factor)',
    pattern: /nan\.safetensors: .*mid_block.*attn2\.to_v.*NaN/,
    request: async () => {
      const { dir, style } = await setUp();
      const broken = path.join(dir, 'nan.safetensors');
      await BROKEN_INPUTS.nan(broken);
      return mergeRequest(broken, style, path.join(dir, 'out.safetensors'));
    },
  },
];

function cliArgs(request: MergeRequest): string[] {
  // --steps applies to the adam solver only: given with newton, the CLI refuses it (merge-options.ts).
  const steps = request.solver === 'adam' ? ['--steps', String(request.steps)] : [];
  return ['merge', ...request.inputs.map((input) => input.path), '-o', request.output, ...steps, '--backend', request.backend, '--dtype', request.dtype];
}

for (const { name, pattern, request: make } of CASES) {
  test(`${name}: the same one line through the worker and through the CLI (exit 1)`, { timeout: 60_000 }, async () => {
    const request = await make();
    const inProcess = await runMerge(request).then(() => assert.fail('the merge did not fail'), (error: unknown) => describeError(error));
    assert.match(inProcess, pattern);
    assert.doesNotMatch(inProcess, /\n/, 'one line');
    const throughWorker = await startMerge(request).result.then(() => assert.fail('the merge did not fail in the worker'), (error: Error) => error.message);
    assert.equal(throughWorker, inProcess);
    const cli = runCli(cliArgs(request));
    assert.equal(cli.status, 1, cli.stderr);
    assert.equal(cli.stderr, `ziplora: ${inProcess}\n`);
    assert.equal(cli.stdout, '');
  });
}

test('a request the worker cannot accept is refused by the worker with the validator\'s words', { timeout: 30_000 }, async () => {
  const { dir, content, style } = await setUp();
  const output = path.join(dir, 'out.safetensors');
  const refusal = startMerge({ ...mergeRequest(content, style, output), steps: -3, lambda: Number.NaN }).result;
  await assert.rejects(refusal, /^Error: invalid merge request: .*steps.*; .*lambda/);
});
