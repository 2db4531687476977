/** The planted benchmark at the default settings: fidelity beats the direct merge, nothing important collapses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectBackend } from '../../src/core/merge/backends';
import { layerReport } from '../support/reference-report';
import { prepareLayer } from '../support/objective';
import { DEFAULT_ZIPLORA_SETTINGS } from '../../src/core/merge/types';
import { LayerResult } from '../../src/core/merge/ziplora-solver';
import { solveAll } from '../support/solve-all';
import { asDelta, plantedLayer, sd15AttentionLayers, strongColumns } from '../support/planted';

test('planted pair at the default settings: Σ error ≤ 0.7 × direct, strong columns keep m ≥ 0.9', async () => {
  // Every fourth of the 128 SD1.5 attention layers keeps the test quick; bench/lambda.ts runs all of them.
  const specs = sd15AttentionLayers(8).filter((_, i) => i % 4 === 0);
  const truth = specs.map((l, i) => plantedLayer(l, 500 + i));
  const deltas = truth.map((t, i) => ({ inputs: [asDelta(t.content, specs[i]), asDelta(t.style, specs[i])] }));
  const layers = deltas.map((d) => prepareLayer(d));
  const solutions: LayerResult[] = [];
  const { solver, steps, lambda, learningRate } = DEFAULT_ZIPLORA_SETTINGS;
  const settings = { solver, steps, lambda, learningRate };
  await solveAll(await selectBackend('wasm'), deltas, settings, { onLayerSolved: (i, s) => (solutions[i] = s) });
  let merged = 0;
  let direct = 0;
  layers.forEach((layer, i) => {
    const r = layerReport({ module: specs[i].canonical, layer, m: solutions[i].m, lambda: DEFAULT_ZIPLORA_SETTINGS.lambda, steps: 100 });
    merged += r.errors[0] + r.errors[1];
    direct += r.directErrors[0] + r.directErrors[1];
    assert.ok(r.pairs[0].overlapAfter < r.pairs[0].overlapBefore, `${specs[i].canonical}: overlap did not shrink`);
  });
  assert.ok(merged <= 0.7 * direct, `Σ error ${merged} vs direct ${direct} (ratio ${merged / direct})`);
  deltas.forEach((d, i) => {
    for (const [columns, m, who] of [[strongColumns(d.inputs[0], truth[i].overlap), solutions[i].m[0], 'content'], [strongColumns(d.inputs[1], truth[i].overlap), solutions[i].m[1], 'style']] as const) {
      assert.ok(columns.length > 0);
      for (const j of columns) assert.ok(m[j] >= 0.9, `${specs[i].canonical} ${who} column ${j}: m = ${m[j]}`);
    }
  });
});
