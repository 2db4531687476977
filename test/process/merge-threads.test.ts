/** The merge on several compute threads: the same result as on one, a cancel that stops them all, a crash that is an error. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ComputePool } from '../../src/core/merge/compute-pool';
import { runMerge } from '../../src/core/merge/pipeline';
import { MergeProgress } from '../../src/core/merge/request';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { caseFolders } from '../support/build-safetensors';
import { mergeRequest, readSidecar, SD15_LAYERS, writePair } from '../support/merge-fixtures';
import { liveThreads } from '../support/thread-count';

const folder = caseFolders();

test('1 and 3 compute threads give the same merge: coefficients, errors and the merged file', async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const outputs = { 1: path.join(dir, 'one.safetensors'), 3: path.join(dir, 'three.safetensors') };
  const one = await runMerge(mergeRequest(content, style, outputs[1], { threads: 1 }));
  const three = await runMerge(mergeRequest(content, style, outputs[3], { threads: 3 }));
  assert.deepEqual([one.threads, three.threads], [1, 3]);
  const [a, b] = await Promise.all([readSidecar(outputs[1].replace(/\.safetensors$/, '.ziplora.safetensors')), readSidecar(outputs[3].replace(/\.safetensors$/, '.ziplora.safetensors'))]);
  assert.equal(a.coefficients.size, SD15_LAYERS.length);
  for (const [module, m] of a.coefficients) {
    const other = b.coefficients.get(module)!;
    for (const [x, y] of [[m.mContent, other.mContent], [m.mStyle, other.mStyle]]) {
      assert.equal(x.length, y.length);
      for (let j = 0; j < x.length; j++) assert.ok(Math.abs(x[j] - y[j]) <= 1e-6, `${module}[${j}]: ${x[j]} vs ${y[j]}`);
    }
  }
  one.reports.forEach((r, i) => assert.ok(Math.abs(r.errors[0] - three.reports[i].errors[0]) <= 1e-6 * Math.max(1, r.errors[0]), r.module));
  // The layers' tensors, all of them, in the same order with the same bytes (the metadata names the output).
  const tensors = (file: string) => withSafetensors(file, async (f) => Promise.all(f.tensors.map(async (t) => `${t.name}:${createHash('sha256').update(await f.readBytes(t)).digest('hex')}`)));
  assert.deepEqual(await tensors(outputs[3]), await tensors(outputs[1]));
});

test('a direct merge on 1 and 2 compute threads: the same merged bytes and the same report, to the bit', async () => {
  const dir = folder();
  const { content, style } = await writePair(dir, { dtype: 'BF16' });
  const outputs = { 1: path.join(dir, 'one.safetensors'), 2: path.join(dir, 'two.safetensors') };
  const one = await runMerge(mergeRequest(content, style, outputs[1], { method: 'direct', threads: 1 }));
  const two = await runMerge(mergeRequest(content, style, outputs[2], { method: 'direct', threads: 2 }));
  assert.deepEqual([one.threads, two.threads], [1, 2]);
  assert.deepEqual(two.reports, one.reports);
  assert.ok(one.reports.every((r) => r.method === 'direct' && r.projectedGradientNorm === undefined), 'a direct merge solves nothing, so reports no projected gradient');
  const data = (file: string) => withSafetensors(file, async (f) => Buffer.from(readFileSync(file).subarray(f.header.dataStart)));
  assert.ok((await data(outputs[1])).equals(await data(outputs[2])), 'the merged tensors differ between 1 and 2 threads');
});

test('cancel stops a direct merge and leaves no file', { timeout: 20_000 }, async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const cancel = new AbortController();
  let read = 0;
  const merge = runMerge(
    mergeRequest(content, style, path.join(dir, 'out.safetensors'), { method: 'direct', threads: 2 }),
    { onProgress: (p) => p.phase === 'reading' && ++read === 2 && cancel.abort(new Error('cancelled by the test')) },
    cancel.signal,
  );
  await assert.rejects(merge, /cancelled by the test/);
  assert.equal(liveThreads(), 0, 'every compute thread exited');
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('content') && !f.startsWith('style')), []);
});

test('the merged file names the real sha256 of every input (hashed while the merge runs, header written last)', async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const output = path.join(dir, 'out.safetensors');
  await runMerge(mergeRequest(content, style, output, { method: 'direct', threads: 2 }));
  const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  await withSafetensors(output, async (f) => {
    const sources = JSON.parse(f.metadata.ziplora_inputs) as { sha256: string }[];
    assert.deepEqual(sources.map((s) => s.sha256), [sha(content), sha(style)]);
  });
});

test('progress counts layers solved, in order, with an estimate of the time left that reaches 0', async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  const solving: MergeProgress[] = [];
  await runMerge(mergeRequest(content, style, path.join(dir, 'out.safetensors'), { threads: 2 }), { onProgress: (p) => p.phase === 'optimising' && solving.push(p) });
  assert.ok(solving.length > 1);
  assert.ok(solving.every((p) => p.total === SD15_LAYERS.length), 'total = the paired layers');
  assert.ok(solving.every((p, i) => i === 0 || p.done > solving[i - 1].done), 'layers solved only go up');
  assert.equal(solving.at(-1)!.done, SD15_LAYERS.length);
  assert.ok(solving.every((p) => typeof p.remainingMs === 'number' && p.remainingMs >= 0));
  assert.equal(solving.at(-1)!.remainingMs, 0);
});

test('cancel stops every compute thread promptly and leaves no file', { timeout: 20_000 }, async () => {
  const dir = folder();
  const { content, style } = await writePair(dir);
  let cancelAt: number | undefined;
  let threadsWhileRunning = 0;
  const cancel = new AbortController();
  const merge = runMerge(
    mergeRequest(content, style, path.join(dir, 'out.safetensors'), { solver: 'adam', steps: 100_000, threads: 2 }),
    {
      onProgress: (p) => {
        if (p.phase !== 'reading' || cancelAt !== undefined) return;
        threadsWhileRunning = liveThreads();
        cancelAt = Date.now() + 300;
        setTimeout(() => cancel.abort(new Error('cancelled by the test')), 300);
      },
    },
    cancel.signal,
  );
  await assert.rejects(merge, /cancelled by the test/);
  assert.ok(Date.now() - cancelAt! < 2000, `stopped ${Date.now() - cancelAt!} ms after the cancel`);
  assert.equal(threadsWhileRunning, 2, 'the count sees both compute threads while the merge runs');
  assert.equal(liveThreads(), 0, 'every compute thread exited');
  assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('content') && !f.startsWith('style')), []);
});

test('a compute thread that dies mid-batch is a clear merge error, not a hang', { timeout: 30_000 }, async () => {
  const pool = await ComputePool.start('cpu', 1, path.resolve(__dirname, '../support/crashing-thread.ts'));
  try {
    await assert.rejects(pool.run({ layers: [], settings: { solver: 'adam', steps: 0, lambda: 0, learningRate: 0.01, start: [1, 1], directWeights: [1, 1] }, columns: 'input' }), /^ComputeThreadError: compute thread 1 of 1 stopped \(exit code 3\) during the merge; no output was written$/);
    await assert.rejects(pool.run({ layers: [], settings: { solver: 'adam', steps: 0, lambda: 0, learningRate: 0.01, start: [1, 1], directWeights: [1, 1] }, columns: 'input' }), /compute thread 1 of 1 stopped/, 'later batches fail at once');
  } finally {
    await pool.close();
  }
  assert.equal(liveThreads(), 0);
});
