/**
 * Batches regroup layers of equal (in, r_c, r_s) whatever their out, so coefficients could land on the wrong
 * layer and the exactness tests (merged file vs its own sidecar) would still pass. Here each module's
 * coefficients in the sidecar are compared with a float64 solve of that module ALONE, on a file where several
 * modules share one batch of the batching cpu backend (wasm solves one layer per batch; backends.ts).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openLora } from '../../src/core/lora/open-lora';
import { selectBackend } from '../../src/core/merge/backends';
import { prepareLayer } from '../support/objective';
import { runMerge } from '../../src/core/merge/pipeline';
import { readDelta } from '../../src/core/merge/read-delta';
import { sidecarPathFor } from '../../src/core/merge/request';
import { planBatches } from '../../src/core/merge/ziplora-solver';
import { tempDir } from '../support/build-safetensors';
import { LayerSpec } from '../support/lora-generators';
import { mergeRequest, readSidecar, writePair } from '../support/merge-fixtures';
import { referenceAdam } from '../support/reference-adam';

/** SD1.5 names and shapes: three modules read 320 features (out 320, 320 and 1280) and two read 768 (out 320 and 640). */
const LAYERS: LayerSpec[] = [
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', downShape: [4, 320], upShape: [320, 4] },
  { canonical: 'unet.down_blocks.0.attentions.0.proj_in', downShape: [4, 320, 1, 1], upShape: [320, 4, 1, 1] },
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj', downShape: [4, 320], upShape: [2560, 4] },
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [4, 768], upShape: [320, 4] },
  { canonical: 'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v', downShape: [4, 768], upShape: [640, 4] },
];

// As in merge-solver.test.ts: float32 backends vs the float64 reference, Adam's normalised steps near zero.
// Adam, because its float64 reference follows the same steps; the Newton solver is checked per layer against
// an independent box-QP optimum in merge-newton.test.ts, on the cpu backend's shared batches too.
const TOLERANCE = 2e-3;
const STEPS = 30;
const LAMBDA = 0.1;

test('cpu backend: each module of a shared batch gets the coefficients of a solve of that module alone', { timeout: 120_000 }, async () => {
  const dir = tempDir('batched-');
  const { content, style } = await writePair(dir, { contentLayers: LAYERS, styleLayers: LAYERS });
  const output = path.join(dir, 'merged.safetensors');

  const backend = await selectBackend('cpu');
  assert.equal(backend.oneLayerPerBatch, false, 'the cpu backend batches');
  const batches = planBatches(LAYERS.map((l) => ({ inFeatures: l.downShape[1], outFeatures: l.upShape[0], ranks: [4, 4] })), false, backend.maxBatchElements);
  assert.deepEqual(batches.map((b) => b.length).sort(), [2, 3], 'the five modules fall in two shared batches');

  await runMerge(mergeRequest(content, style, output, { backend: 'cpu', solver: 'adam', steps: STEPS, lambda: LAMBDA, learningRate: 0.01, columns: 'input' }));
  const { coefficients } = await readSidecar(sidecarPathFor(output));

  const [c, s] = await Promise.all([openLora(content), openLora(style)]);
  try {
    for (const layer of c.lora.layers) {
      const styleLayer = s.lora.layers.find((l) => l.module === layer.module)!;
      const { m: [referenceContent, referenceStyle] } = referenceAdam(prepareLayer({ inputs: [await readDelta(c.file, layer), await readDelta(s.file, styleLayer)] }), STEPS, LAMBDA, 0.01);
      const got = coefficients.get(layer.module);
      assert.ok(got, `no coefficients for ${layer.module}`);
      assert.equal(got.mContent.length, layer.columns);
      let moved = 0;
      for (let j = 0; j < layer.columns; j++) {
        assert.ok(Math.abs(got.mContent[j] - referenceContent[j]) < TOLERANCE, `${layer.module} m_c[${j}] ${got.mContent[j]} vs ${referenceContent[j]}`);
        assert.ok(Math.abs(got.mStyle[j] - referenceStyle[j]) < TOLERANCE, `${layer.module} m_s[${j}] ${got.mStyle[j]} vs ${referenceStyle[j]}`);
        moved = Math.max(moved, 1 - referenceContent[j], 1 - referenceStyle[j]);
      }
      assert.ok(moved > 20 * TOLERANCE, `${layer.module}: the reference coefficients moved only ${moved} from 1, too little to tell layers apart`);
    }
  } finally {
    await c.file.close();
    await s.file.close();
  }
});
