/** The merge's memory estimate, and the thread count (or refusal) it leads to at a given free-memory figure. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openLora } from '../../src/core/lora/open-lora';
import { groupLayers } from '../../src/core/merge/merge-groups';
import { MergedGroup, weighGroups } from '../../src/core/merge/weighted-groups';
import { batchWorkingBytes, estimateMergeMemory, LayerFootprint, MemoryPlan, NotEnoughMemoryError, PROCESS_BASE_BYTES, THREAD_ENGINE_BYTES, threadsThatFit } from '../../src/core/merge/memory-estimate';
import { BACKEND_TRAITS } from '../../src/core/merge/backends';
import { fitMergeToMemory, memoryPlan } from '../../src/core/merge/memory-fit';
import { DEFAULT_MERGE_OPTIONS } from '../../src/core/merge/request';
import { planBatches } from '../../src/core/merge/ziplora-solver';
import { tempDir } from '../support/build-safetensors';
import { layersFromLayout, randomLayerValues, seededRandom, withRank, writeLora } from '../support/lora-generators';

const GiB = 2 ** 30;
const wanLayer = (inFeatures: number, outFeatures: number): LayerFootprint => ({ shape: { inFeatures, outFeatures, ranks: [32, 64] }, inputBytesPerValue: 2, outputBytesPerValue: 2 });
// One Wan 2.1 14B block's shapes (test/fixtures/wan2.1-14b-transformer.layout.json), rank 32 + 64, 40 blocks.
const WAN_BLOCK = [...Array(8).fill(wanLayer(5120, 5120)), wanLayer(5120, 13824), wanLayer(13824, 5120)];
const WAN: LayerFootprint[] = Array.from({ length: 40 }, () => WAN_BLOCK).flat();
const plan = (threads: number, layers = WAN): MemoryPlan => ({ layers, batches: layers.map((_, i) => [i]), threads, layersAheadPerThread: 2 });

test('each thread adds its engine and the working set of the largest batch; the window holds the largest layers', () => {
  const one = estimateMergeMemory(plan(1));
  const four = estimateMergeMemory(plan(4));
  const largest = batchWorkingBytes([wanLayer(13824, 5120)]);
  assert.equal(four.threadBytes - one.threadBytes, 3 * (THREAD_ENGINE_BYTES + largest));
  // ffn.2 (in 13824) is the largest problem: its R × in terms outweigh ffn.0's R × out ones.
  assert.ok(largest > batchWorkingBytes([wanLayer(5120, 13824)]));
  // Window of 2 × 4 layers: the 8 largest held (4 ffn.0 + 4 ffn.2 of 96 × (5120 + 13824) values at 2 + 2 bytes).
  assert.equal(four.inFlightBytes, 8 * 96 * (5120 + 13824) * 4);
  assert.ok(one.baseBytes > PROCESS_BASE_BYTES, 'what the merge keeps per layer until the sidecar counts');
  assert.equal(four.totalBytes, four.baseBytes + four.threadBytes + four.inFlightBytes);
});

test('a higher rank or a wider layer needs more memory; more layers of the same shape only a little more', () => {
  const r96 = estimateMergeMemory(plan(2)).totalBytes;
  const r256 = estimateMergeMemory(plan(2, WAN.map((l) => ({ ...l, shape: { ...l.shape, ranks: [128, 128] } })))).totalBytes;
  assert.ok(r256 > r96 * 1.5, `${r256} vs ${r96}`);
  // Twice the layers add only what the merge keeps per layer until the sidecar (≈ 50 bytes per input feature:
  // 117 MB for Wan's 400 layers), not their factors: those stream through.
  const doubled = estimateMergeMemory(plan(2, [...WAN, ...WAN])).totalBytes;
  assert.ok(doubled > r96 && doubled - r96 < 0.15 * GiB, `${doubled - r96} bytes more for twice the layers`);
});

test('with enough free memory the requested threads stay; with less, fewer; with too little, a one-line refusal', () => {
  const at = (threads: number) => estimateMergeMemory(plan(threads)).totalBytes;
  assert.equal(threadsThatFit(plan(8), 64 * GiB, 0).threads, 8);
  assert.equal(threadsThatFit(plan(8), at(3), 0).threads, 3);
  assert.equal(threadsThatFit(plan(8), at(3) - 1, 0).threads, 2);
  // What the process already holds is not needed again.
  assert.equal(threadsThatFit(plan(8), at(3) - 100e6, 100e6).threads, 3);
  assert.throws(
    () => threadsThatFit(plan(8), at(1) - 1, 0),
    (error: unknown) => {
      assert.ok(error instanceof NotEnoughMemoryError);
      assert.match(error.message, /^this merge needs about \d+ MiB of memory even with --threads 1, \d+ MiB more than the worker holds, and \d+ MiB is free: /);
      assert.match(error.message, /rank 32 \+ 64 on 13824 features; --rank lowers only what is written/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    },
  );
});

/** The merged layers of two Wan LoRAs of ranks 2 and 4 (one block), as the merge groups them. */
async function wanGroups(): Promise<readonly MergedGroup[]> {
  const dir = tempDir();
  const layers = layersFromLayout('wan2.1-14b-transformer.layout.json', 1).filter((l) => l.canonical.includes('.blocks.0.'));
  const files: string[] = [];
  for (const [i, rank] of [2, 4].entries()) {
    const file = path.join(dir, `wan-r${rank}.safetensors`);
    const random = seededRandom(70 + i);
    await writeLora(file, withRank(layers, rank), (l) => randomLayerValues(l, random), { scheme: 'native-diffusion-model', family: 'wan', dtype: i ? 'F32' : 'BF16' });
    files.push(file);
  }
  const [a, b] = [await openLora(files[0]), await openLora(files[1])];
  await a.file.close();
  await b.file.close();
  const grouping = groupLayers([a, b].map((lora, i) => ({ name: 'ab'[i], layers: lora.lora.layers, baseModel: lora.lora.baseModel })));
  const inputs = files.map((path) => ({ path, weight: 1 }));
  return weighGroups(grouping, { inputs, blocks: [], method: 'ziplora' }).merged;
}

test('the plan of real merged layers: shapes from the headers, bytes per value from the dtypes, batches by backend', async () => {
  const pairing = await wanGroups();
  const request = { ...DEFAULT_MERGE_OPTIONS, dtype: 'F32' as const };
  const wasm = memoryPlan({ ...request, backend: 'wasm' }, pairing, 4, 2);
  assert.equal(wasm.layers.length, 10);
  assert.equal(wasm.threads, 4);
  assert.equal(wasm.batches.length, 10, 'one layer per batch');
  const ffn2 = wasm.layers.find((l) => l.shape.inFeatures === 13824)!;
  assert.deepEqual(ffn2.shape, { inFeatures: 13824, outFeatures: 5120, ranks: [2, 4] });
  assert.equal(ffn2.inputBytesPerValue, 3, 'BF16 and F32 inputs: 2 and 4 bytes');
  assert.equal(ffn2.outputBytesPerValue, 4);
  const byOutput = memoryPlan({ ...request, columns: 'output' }, pairing, 4, 2);
  assert.equal(byOutput.layers.find((l) => l.shape.outFeatures === 13824)?.shape.inFeatures, 5120);
  const gpu = memoryPlan({ ...request, backend: 'webgpu' }, pairing, 4, 2);
  assert.equal(gpu.threads, 1, 'a batching backend runs one thread');
  assert.ok(gpu.batches.length < 10, 'layers of one shape share a batch');
  // The JavaScript backend is an engine per thread that still batches: as backends.ts runs it.
  const cpu = memoryPlan({ ...request, backend: 'cpu' }, pairing, 4, 2);
  assert.equal(cpu.threads, 4);
  assert.deepEqual(cpu.batches, planBatches(cpu.layers.map((l) => l.shape), BACKEND_TRAITS.cpu.oneLayerPerBatch, BACKEND_TRAITS.cpu.maxBatchElements));
  assert.ok(cpu.batches.length < 10, 'layers of one shape share a batch');
});

test('the merge fits its threads to an injected free-memory figure and refuses below one thread', async () => {
  const pairing = await wanGroups();
  const resident = process.memoryUsage().rss;
  const estimateAt = (threads: number) => estimateMergeMemory(memoryPlan(DEFAULT_MERGE_OPTIONS, pairing, threads, 2)).totalBytes;
  assert.equal(fitMergeToMemory(DEFAULT_MERGE_OPTIONS, pairing, 6, 2, 64 * GiB).threads, 6);
  const two = fitMergeToMemory(DEFAULT_MERGE_OPTIONS, pairing, 6, 2, estimateAt(2) - resident + 1e6);
  assert.equal(two.threads, 2);
  assert.throws(() => fitMergeToMemory(DEFAULT_MERGE_OPTIONS, pairing, 6, 2, estimateAt(1) - resident - 50e6), NotEnoughMemoryError);
});
