/** Every real file in ../shared/fixtures/real is recognised as its README says (skipped, or failed in CI, when the folder is absent). */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { compareLoras } from '../../src/core/lora/compare';
import { openLora } from '../../src/core/lora/open-lora';
import { describeAdapter, LoraDescription, NotLoraDescription } from '../../src/core/lora/recognise';
import { summarizeAdapter } from '../../src/core/lora/summary';
import { SafetensorsFile, withSafetensors } from '../../src/core/safetensors/reader';
import { REAL_FIXTURES } from '../support/build-safetensors';
import { hasFixtures } from '../support/requirements';

const real = (name: string) => path.join(REAL_FIXTURES, name);
const POKEMON = 'huggingface-diffusers__sd-pokemon-model-lora__pytorch_lora_weights.safetensors';
const CATUNDCHAT = 'catundchat-stable-diffusion-v1.5-lora__pytorch_lora_weights.safetensors';
const PEFT = 'huggingface-peft__monteclora-roberta-mrpc__checkpoint-230__adapter_model.safetensors';
const MLX = 'ml-explore-mlx-examples__adapters.safetensors';

const describe = (name: string) => withSafetensors(real(name), describeAdapter);

test('real SD1.5 LoRAs: diffusers and attention-processor naming, 128 layers each, all paired', async (t) => {
  if (!hasFixtures(t, REAL_FIXTURES)) return;
  const a = await openLora(real(POKEMON));
  const b = await openLora(real(CATUNDCHAT));
  try {
    assert.equal(a.lora.scheme, 'diffusers-old');
    assert.equal(b.lora.scheme, 'diffusers-attn-processor');
    for (const side of [a, b]) {
      assert.equal(side.lora.layers.length, 128);
      assert.ok(side.lora.layers.every((l) => l.rank === 4 && l.scale === 1));
      assert.equal(side.lora.baseModel.family, 'sd1');
    }
    const comparison = await compareLoras(a, b);
    assert.equal(comparison.report.paired.length, 128);
    assert.deepEqual([comparison.report.onlyInFirst.length, comparison.report.onlyInSecond.length, comparison.report.refused.length], [0, 0, 0]);
    assert.equal(comparison.measures.length, 128);
    assert.ok(comparison.measures.every((m) => m.meanAbsCosine !== null && m.meanAbsCosine > 0 && m.meanAbsCosine < 1 && m.firstNorm > 0));
  } finally {
    await a.file.close();
    await b.file.close();
  }
});

test('real cloneofsimo and LyCORIS LoKr files are refused by name', async (t) => {
  if (!hasFixtures(t, REAL_FIXTURES)) return;
  const clone = (await describe('cloneofsimo-lora__lora_disney.safetensors')) as NotLoraDescription;
  assert.equal(clone.kind, 'not-lora');
  assert.deepEqual(clone.adapters, ['cloneofsimo']);
  await assert.rejects(openLora(real('cloneofsimo-lora__lora_disney.safetensors')), /cloneofsimo LoRA \(indexed keys/);
  const lokr = (await describe('KohakuBlueleaf-LyCORIS__smart_falcon_4_lokr.safetensors')) as NotLoraDescription;
  assert.deepEqual(lokr.adapters, ['lokr']);
  await assert.rejects(openLora(real('KohakuBlueleaf-LyCORIS__smart_falcon_4_lokr.safetensors')), /LyCORIS LoKr/);
});

test('real PEFT adapter: scale 2.0 from its adapter_config.json, classifier tensors kept as extra tensors', async (t) => {
  if (!hasFixtures(t, REAL_FIXTURES)) return;
  const lora = (await describe(PEFT)) as LoraDescription;
  assert.equal(lora.scheme, 'peft');
  assert.equal(lora.layers.length, 24);
  assert.ok(lora.layers.every((l) => l.scale === 2 && l.rank === 8 && l.alpha === 16));
  assert.equal(lora.adapterConfig, real('huggingface-peft__monteclora-roberta-mrpc__checkpoint-230__adapter_config.json'));
  assert.ok(lora.extraTensors.includes('base_model.model.classifier.dense.weight'));
  assert.equal(lora.baseModel.family, 'llm');
  assert.match(lora.baseModel.label, /RoBERTa/);
});

test('real MLX adapter: lora_a in×r / lora_b r×out read transposed; ‖ΔW‖ matches a direct computation', async (t) => {
  if (!hasFixtures(t, REAL_FIXTURES)) return;
  const file = await SafetensorsFile.open(real(MLX));
  try {
    const lora = (await describeAdapter(file)) as LoraDescription;
    assert.equal(lora.scheme, 'mlx');
    assert.equal(lora.layers.length, 8);
    const layer = lora.layers[0];
    assert.ok(layer.transposed);
    assert.deepEqual([layer.inFeatures, layer.outFeatures, layer.rank, layer.scale], [2304, 2304, 8, 10]);
    // Independent: ΔW = scale · (lora_a · lora_b)ᵀ, so ‖ΔW‖² = scale² · Σ (x·W_a·W_b)² over unit inputs x = e_i.
    const a = await file.readF32(layer.down); // 2304 × 8
    const b = await file.readF32(layer.up); // 8 × 2304
    let energy = 0;
    const row = new Float64Array(2304);
    for (let i = 0; i < 2304; i++) {
      row.fill(0);
      for (let k = 0; k < 8; k++) {
        const aik = a[i * 8 + k];
        for (let o = 0; o < 2304; o++) row[o] += aik * b[k * 2304 + o];
      }
      for (let o = 0; o < 2304; o++) energy += row[o] * row[o];
    }
    const summary = await summarizeAdapter(file);
    const measured = summary.lora!.layers.find((l) => l.module === layer.module)!.norm!;
    const expected = 10 * Math.sqrt(energy);
    assert.ok(Math.abs(measured - expected) <= 1e-6 * expected, `${measured} vs ${expected}`);
  } finally {
    await file.close();
  }
});

test('real files that are not adapters are described, not mistaken for LoRAs', async (t) => {
  if (!hasFixtures(t, REAL_FIXTURES)) return;
  const cases: Array<[string, RegExp]> = [
    ['ostris-ai-toolkit__stable_diffusion_sd1_ldm_base.safetensors', /empty file/],
    ['ostris-ai-toolkit__stable_diffusion_sdxl_ldm_base.safetensors', /SDXL checkpoint/],
    ['huggingface-safetensors__samples__overall.safetensors', /plain tensor file/],
    ['FluxML-SafeTensors.jl__non_sharded__model.safetensors', /plain tensor file/],
  ];
  for (const [name, pattern] of cases) {
    const description = (await describe(name)) as NotLoraDescription;
    assert.equal(description.kind, 'not-lora', name);
    assert.match(description.looksLike, pattern, name);
  }
});
