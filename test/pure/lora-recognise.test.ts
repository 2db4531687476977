import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openLora } from '../../src/core/lora/open-lora';
import { describeAdapter, LoraDescription, NotLoraDescription } from '../../src/core/lora/recognise';
import { summarizeAdapter } from '../../src/core/lora/summary';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { writeSafetensors } from '../support/write-safetensors';
import { tempDir } from '../support/build-safetensors';
import { LayerSpec, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';

const f32 = (...values: number[]) => new Uint8Array(new Float32Array(values).buffer);
const zeros = (count: number) => new Uint8Array(count * 4);

async function writeTensors(name: string, tensors: Array<[string, number[]]>, dir = tempDir()): Promise<string> {
  const file = path.join(dir, name);
  await writeSafetensors(file, tensors.map(([n, shape]) => ({ name: n, dtype: 'F32', shape, data: zeros(shape.reduce((a, b) => a * b, 1)) })));
  return file;
}

const describe = (file: string) => withSafetensors(file, describeAdapter);

const SD_LAYERS: LayerSpec[] = [
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [4, 768], upShape: [320, 4] },
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0', downShape: [4, 320], upShape: [320, 4] },
  { canonical: 'unet.down_blocks.0.attentions.0.proj_in', downShape: [4, 320, 1, 1], upShape: [320, 4, 1, 1] },
  { canonical: 'text_encoder.text_model.encoder.layers.0.self_attn.q_proj', downShape: [4, 768], upShape: [768, 4] },
];

test('each naming scheme is recognised, named, and normalised to the same layers', async () => {
  const expected: Record<string, string> = { kohya: 'kohya', peft: 'peft', 'diffusers-old': 'diffusers-old' };
  for (const scheme of ['kohya', 'peft', 'diffusers-old'] as const) {
    const file = path.join(tempDir(), `${scheme}.safetensors`);
    const random = seededRandom(3);
    await writeLora(file, SD_LAYERS, (l) => randomLayerValues(l, random, 8), { scheme, family: 'sd1' });
    const lora = (await describe(file)) as LoraDescription;
    assert.equal(lora.kind, 'lora', scheme);
    assert.equal(lora.scheme, expected[scheme]);
    assert.deepEqual(lora.layers.map((l) => l.module).sort(), SD_LAYERS.map((l) => l.canonical).sort(), scheme);
    const conv = lora.layers.find((l) => l.module.endsWith('proj_in'))!;
    assert.equal(conv.kind, 'conv');
    assert.deepEqual(conv.kernel, [1, 1]);
    assert.equal(lora.layers.every((l) => l.rank === 4), true);
    // kohya: alpha / r = 8 / 4; diffusers without alpha or config: 1.
    assert.equal(lora.layers[0].scale, scheme === 'kohya' ? 2 : 1, scheme);
    assert.equal(lora.baseModel.family, 'sd1', `${scheme}: ${lora.baseModel.evidence.join('; ')}`);
  }
});

test('a kohya layer without alpha has scale 1; a 3×3 conv down factor is flattened to r × in·9', async () => {
  const file = await writeTensors('k.safetensors', [
    ['lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight', [4, 320, 3, 3]],
    ['lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight', [320, 4, 1, 1]],
  ]);
  const lora = (await describe(file)) as LoraDescription;
  assert.equal(lora.layers[0].scale, 1);
  assert.equal(lora.layers[0].alpha, null);
  assert.equal(lora.layers[0].columns, 320 * 9);
  assert.deepEqual(lora.layers[0].kernel, [3, 3]);
});

test('PEFT scale comes from adapter_config.json beside the file, with alpha_pattern and rank_pattern', async () => {
  const dir = tempDir();
  const file = await writeTensors('adapter_model.safetensors', [
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', [8, 16]],
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', [16, 8]],
    ['base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', [4, 16]],
    ['base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight', [16, 4]],
  ], dir);
  writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, rank_pattern: { v_proj: 4 }, alpha_pattern: { 'layers\\.0\\.self_attn\\.v_proj': 2 }, base_model_name_or_path: 'meta-llama/Llama-2-7b-hf' }));
  const lora = (await describe(file)) as LoraDescription;
  const q = lora.layers.find((l) => l.module.endsWith('q_proj'))!;
  const v = lora.layers.find((l) => l.module.endsWith('v_proj'))!;
  assert.equal(q.module, 'model.layers.0.self_attn.q_proj');
  assert.equal(q.scale, 2);
  assert.equal(v.scale, 0.5);
  assert.equal(lora.adapterConfig, path.join(dir, 'adapter_config.json'));
  assert.equal(lora.baseModel.family, 'llm');
  assert.match(lora.baseModel.label, /LLaMA-style/);
});

test('MLX factors are read transposed, with the scale of its adapter config', async () => {
  const dir = tempDir();
  const file = await writeTensors('adapters.safetensors', [
    ['model.layers.3.self_attn.q_proj.lora_a', [64, 8]],
    ['model.layers.3.self_attn.q_proj.lora_b', [8, 32]],
  ], dir);
  writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ lora_parameters: { rank: 8, alpha: 16, scale: 10.0 } }));
  const lora = (await describe(file)) as LoraDescription;
  assert.equal(lora.scheme, 'mlx');
  assert.deepEqual([lora.layers[0].inFeatures, lora.layers[0].outFeatures, lora.layers[0].rank, lora.layers[0].scale], [64, 32, 8, 10]);
});

test('adapters that are not B·A LoRAs are named', async () => {
  const cases: Array<[string, Array<[string, number[]]>, RegExp]> = [
    ['loha', [['lora_unet_a_to_q.hada_w1_a', [8, 4]], ['lora_unet_a_to_q.hada_w1_b', [4, 8]], ['lora_unet_a_to_q.alpha', []]], /LoHa/],
    ['lokr', [['lora_te_x_fc1.lokr_w1', [8, 8]], ['lora_te_x_fc1.lokr_w2_a', [8, 4]]], /LoKr/],
    ['tucker', [['lora_unet_c.lora_down.weight', [4, 8, 1, 1]], ['lora_unet_c.lora_mid.weight', [4, 4, 3, 3]], ['lora_unet_c.lora_up.weight', [8, 4, 1, 1]]], /lora_mid/],
    ['dora', [['unet.a.to_q.lora_A.weight', [4, 8]], ['unet.a.to_q.lora_B.weight', [8, 4]], ['unet.a.to_q.lora_magnitude_vector', [8]]], /DoRA/],
    ['clone', [['unet:0:up', [8, 1]], ['unet:0:down', [1, 8]], ['<s1>', [8]]], /cloneofsimo/],
    ['ia3', [['base_model.model.encoder.layer.0.attention.self.key.ia3_l', [768, 1]]], /PEFT adapter without LoRA A\/B/],
  ];
  for (const [name, tensors, pattern] of cases) {
    const file = await writeTensors(`${name}.safetensors`, tensors);
    const description = (await describe(file)) as NotLoraDescription;
    assert.equal(description.kind, 'not-lora', name);
    assert.match(description.looksLike, pattern, name);
    await assert.rejects(openLora(file), (error: Error) => error.message.includes(file) && pattern.test(error.message) && /not a plain B·A LoRA/.test(error.message));
  }
});

test('files that are no adapter at all say what they look like', async () => {
  const cases: Array<[string, Array<[string, number[]]>, RegExp]> = [
    ['ckpt', [['model.diffusion_model.input_blocks.0.0.weight', [4, 4]]], /full Stable Diffusion checkpoint/],
    ['emb', [['emb_params', [2, 8]]], /textual-inversion embedding/],
    ['sdxl-emb', [['clip_l', [2, 8]], ['clip_g', [2, 16]]], /SDXL textual-inversion/],
    ['empty', [], /empty file/],
    ['plain', [['weights', [3]]], /plain tensor file: 1 tensor/],
  ];
  for (const [name, tensors, pattern] of cases) {
    const file = await writeTensors(`${name}.safetensors`, tensors);
    const description = (await describe(file)) as NotLoraDescription;
    assert.match(description.looksLike, pattern, name);
    await assert.rejects(openLora(file), new RegExp(`not a LoRA: it looks like`));
  }
});

test('broken layers are named: up without down, ranks that differ, NaN values', async () => {
  const missing = await writeTensors('missing.safetensors', [
    ['lora_unet_a_to_q.lora_up.weight', [8, 4]],
    ['lora_unet_a_to_k.lora_down.weight', [4, 8]],
    ['lora_unet_a_to_k.lora_up.weight', [8, 4]],
  ]);
  await assert.rejects(openLora(missing), /layer "lora_unet_a_to_q" has an up factor but no down factor/);
  const ranks = await writeTensors('ranks.safetensors', [
    ['unet.a.to_q.lora_A.weight', [4, 8]],
    ['unet.a.to_q.lora_B.weight', [8, 2]],
  ]);
  await assert.rejects(openLora(ranks), /layer "unet\.a\.to_q" ranks differ: down \[4, 8\] has rank 4, up \[8, 2\] has 2/);

  const file = path.join(tempDir(), 'nan.safetensors');
  const down = new Float32Array(8).fill(0.5);
  down[3] = NaN;
  await writeSafetensors(file, [
    { name: 'lora_unet_a_to_q.lora_down.weight', dtype: 'F32', shape: [1, 8], data: new Uint8Array(down.buffer) },
    { name: 'lora_unet_a_to_q.lora_up.weight', dtype: 'F32', shape: [8, 1], data: f32(1, 1, 1, 1, 1, 1, 1, 1) },
  ]);
  const summary = await withSafetensors(file, (st) => summarizeAdapter(st));
  assert.equal(summary.lora?.layers[0].norm, null);
  assert.match(summary.lora!.problems[0].problem, /lora_unet_a_to_q\.lora_down\.weight" holds NaN or infinite values/);
  assert.equal(summary.lora!.problems[0].module, 'unet.a.to_q');
});
