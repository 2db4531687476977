/**
 * A Flux merge is written in one layout per file (src/core/merge/output-layout.ts): BFL for kohya naming, diffusers
 * for diffusers naming, converted exactly. Flux names, hidden width scaled down to 32 so that dense checks stay small.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { unmergedLines } from '../../src/core/format/merge-text';
import { runMerge } from '../../src/core/merge/pipeline';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { tempDir } from '../support/build-safetensors';
import { LayerSpec } from '../support/lora-generators';
import { denseLayers, mergeRequest, writePair } from '../support/merge-fixtures';

const H = 32;
const linear = (canonical: string, out: number, inFeatures: number, rank: number): LayerSpec => ({ canonical, downShape: [rank, inFeatures], upShape: [out, rank] });
const ADALN = 'transformer.final_layer.adaLN_modulation.1';
const NORM_OUT = 'transformer.norm_out.linear';
const T = 'transformer.transformer_blocks';
const S = 'transformer.single_transformer_blocks.0';

const KOHYA: LayerSpec[] = [
  { ...linear('transformer.double_blocks.0.img_attn.qkv', 3 * H, H, 4), kohyaModule: 'lora_unet_double_blocks_0_img_attn_qkv' },
  { ...linear('transformer.double_blocks.0.img_attn.proj', H, H, 4), kohyaModule: 'lora_unet_double_blocks_0_img_attn_proj' },
  { ...linear('transformer.single_blocks.0.linear1', 7 * H, H, 4), kohyaModule: 'lora_unet_single_blocks_0_linear1' },
];
const KOHYA_WITH_ADALN = [...KOHYA, { ...linear(ADALN, 2 * H, H, 4), kohyaModule: 'lora_unet_final_layer_adaLN_modulation_1' }];
const DIFFUSERS: LayerSpec[] = [
  ...['to_q', 'to_k', 'to_v', 'to_out.0'].map((p) => linear(`${T}.0.attn.${p}`, H, H, 3)),
  linear(`${S}.attn.to_q`, H, H, 3),
  linear(`${S}.proj_mlp`, 4 * H, H, 3),
  // Only in the style file: two parts of block 1's txt_attn.qkv, and the final norm.
  linear(`${T}.1.attn.add_k_proj`, H, H, 3),
  linear(`${T}.1.attn.add_v_proj`, H, H, 3),
  linear(NORM_OUT, 2 * H, H, 3),
];

type Dense = Map<string, { w: Float64Array; out: number; cols: number }>;

/** Rows [start, start + count) of a dense ΔW. */
const rows = (d: Dense, module: string, start: number, count: number) => {
  const layer = d.get(module);
  assert.ok(layer, `${module} is not in the file (has ${[...d.keys()].join(', ')})`);
  return layer.w.subarray(start * H, (start + count) * H);
};
const swapHalves = (w: Float64Array) => Float64Array.from([...w.subarray(w.length / 2), ...w.subarray(0, w.length / 2)]);

function assertClose(actual: Float64Array, expected: Float64Array, label: string) {
  assert.equal(actual.length, expected.length, label);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  assert.ok(scale > 0 && worst / scale < 1e-6, `${label}: relative error ${worst / scale}`);
}

async function names(file: string): Promise<string[]> {
  return withSafetensors(file, async (read) => read.tensors.map((t) => t.name));
}

test('kohya content + diffusers style: --naming kohya is all BFL (fused), --naming diffusers all diffusers (split), and the two are the same ΔW', async () => {
  const dir = tempDir();
  const { content, style } = await writePair(dir, { contentScheme: 'kohya', styleScheme: 'peft', contentLayers: KOHYA_WITH_ADALN, styleLayers: DIFFUSERS });
  const bflFile = path.join(dir, 'bfl.safetensors');
  const diffusersFile = path.join(dir, 'diffusers.safetensors');
  const bflSummary = await runMerge(mergeRequest(content, style, bflFile, { naming: 'kohya', method: 'direct' }));
  await runMerge(mergeRequest(content, style, diffusersFile, { naming: 'diffusers', method: 'direct' }));
  assert.ok((await names(bflFile)).every((n) => n.startsWith('lora_unet_')), 'kohya naming: lora_unet_ + BFL names only');
  assert.ok((await names(diffusersFile)).every((n) => n.startsWith('transformer.') && !/double_blocks|single_blocks|final_layer/.test(n)), 'diffusers naming: transformer. + diffusers names only');

  const [bfl, split, c, s] = await Promise.all([denseLayers(bflFile), denseLayers(diffusersFile), denseLayers(content), denseLayers(style)]);
  // Fused modules: the split output's parts, stacked by rows, are the fused output.
  const fused: Array<[string, Array<[string, number]>]> = [
    ['transformer.double_blocks.0.img_attn.qkv', [[`${T}.0.attn.to_q`, H], [`${T}.0.attn.to_k`, H], [`${T}.0.attn.to_v`, H]]],
    ['transformer.single_blocks.0.linear1', [[`${S}.attn.to_q`, H], [`${S}.attn.to_k`, H], [`${S}.attn.to_v`, H], [`${S}.proj_mlp`, 4 * H]]],
    ['transformer.double_blocks.0.img_attn.proj', [[`${T}.0.attn.to_out.0`, H]]],
  ];
  for (const [module, parts] of fused) {
    let start = 0;
    for (const [part, count] of parts) {
      assertClose(rows(split, part, 0, count), rows(bfl, module, start, count), `${part} = rows ${start}… of ${module}`);
      start += count;
    }
  }
  // Copied from the style only: add_k / add_v fused into block 1's txt_attn.qkv (q rows zero) in BFL; as they were in diffusers.
  const txt = 'transformer.double_blocks.1.txt_attn.qkv';
  assert.ok(rows(bfl, txt, 0, H).every((v) => v === 0), 'no add_q_proj in the style file: zero rows');
  assertClose(rows(bfl, txt, H, H), rows(s, `${T}.1.attn.add_k_proj`, 0, H), 'add_k_proj rows');
  assertClose(rows(bfl, txt, 2 * H, H), rows(s, `${T}.1.attn.add_v_proj`, 0, H), 'add_v_proj rows');
  assertClose(rows(split, `${T}.1.attn.add_v_proj`, 0, H), rows(s, `${T}.1.attn.add_v_proj`, 0, H), 'add_v_proj copied as is');
  // The content's final_layer.adaLN_modulation.1 is norm_out.linear with its halves swapped in diffusers layout.
  assertClose(bfl.get(ADALN)!.w, c.get(ADALN)!.w, 'adaLN copied');
  assertClose(split.get(NORM_OUT)!.w, swapHalves(c.get(ADALN)!.w), 'norm_out.linear = adaLN with scale/shift swapped');
  // The style's norm_out.linear is the same weight, unpaired: left out and named, not written twice.
  const leftOut = bflSummary.unmerged.leftOut.filter((t) => t.tensor.startsWith('norm_out.linear') || t.tensor.startsWith(NORM_OUT));
  assert.deepEqual(leftOut.map((t) => [t.file, t.tensor]), [['style', `${NORM_OUT}.lora_A.weight`], ['style', `${NORM_OUT}.lora_B.weight`]]);
  assert.match(leftOut[0].reason, /not paired/);
  assert.ok(!bflSummary.unmerged.copied.some((x) => x.module === NORM_OUT), 'a left-out layer is not also listed as copied');
  // The summary says under which name a copied part went.
  assert.deepEqual(bflSummary.unmerged.copied.filter((x) => x.module.includes('blocks.1.')), [
    { file: 'style', module: `${T}.1.attn.add_k_proj`, writtenAs: [txt] },
    { file: 'style', module: `${T}.1.attn.add_v_proj`, writtenAs: [txt] },
  ]);
});

test('a diffusers norm_out.linear copied into kohya naming becomes final_layer.adaLN_modulation.1 with its halves swapped', async () => {
  const dir = tempDir();
  const { content, style } = await writePair(dir, { contentScheme: 'kohya', styleScheme: 'peft', contentLayers: KOHYA, styleLayers: DIFFUSERS, seed: 3 });
  const output = path.join(dir, 'merged.safetensors');
  const summary = await runMerge(mergeRequest(content, style, output, { method: 'direct' }));
  assert.deepEqual(summary.unmerged.leftOut, []);
  const byModule = (a: { module: string }, b: { module: string }) => (a.module < b.module ? -1 : 1);
  const fusedTxt = 'transformer.double_blocks.1.txt_attn.qkv';
  assert.deepEqual([...summary.unmerged.copied].sort(byModule), [
    { file: 'style', module: NORM_OUT, writtenAs: [ADALN] },
    { file: 'style', module: `${T}.1.attn.add_k_proj`, writtenAs: [fusedTxt] },
    { file: 'style', module: `${T}.1.attn.add_v_proj`, writtenAs: [fusedTxt] },
  ].sort(byModule));
  assert.match(unmergedLines(summary.unmerged).join('\n'), /transformer\.norm_out\.linear \(as transformer\.final_layer\.adaLN_modulation\.1\)/);
  const [merged, s] = await Promise.all([denseLayers(output), denseLayers(style)]);
  assertClose(merged.get(ADALN)!.w, swapHalves(s.get(NORM_OUT)!.w), 'adaLN = norm_out.linear with halves swapped');
});
