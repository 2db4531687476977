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
import { denseLayers, mergeRequest, readSidecar, writePair } from '../support/merge-fixtures';
import { runCli } from '../support/run-cli';

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

  const [bfl, split, s] = await Promise.all([denseLayers(bflFile), denseLayers(diffusersFile), denseLayers(style)]);
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
  // The content's final_layer.adaLN_modulation.1 and the style's norm_out.linear (halves swapped) are merged as one
  // layer (swapped-halves.ts), written as adaLN in BFL and as norm_out.linear, halves swapped back, in diffusers.
  assert.ok(bflSummary.reports.some((r) => r.module === ADALN), 'adaLN ↔ norm_out.linear merged as one layer');
  assertClose(split.get(NORM_OUT)!.w, swapHalves(bfl.get(ADALN)!.w), 'norm_out.linear = merged adaLN with scale/shift swapped');
  assert.deepEqual(bflSummary.unmerged.leftOut, [], 'nothing left out');
  assert.ok(!bflSummary.unmerged.copied.some((x) => x.module === NORM_OUT || x.module === ADALN), 'a merged layer is not listed as copied');
  // The summary says under which name a copied part went.
  assert.deepEqual(bflSummary.unmerged.copied.filter((x) => x.module.includes('blocks.1.')), [
    { input: 1, module: `${T}.1.attn.add_k_proj`, weight: 1, writtenAs: [txt] },
    { input: 1, module: `${T}.1.attn.add_v_proj`, weight: 1, writtenAs: [txt] },
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
    { input: 1, module: NORM_OUT, weight: 1, writtenAs: [ADALN] },
    { input: 1, module: `${T}.1.attn.add_k_proj`, weight: 1, writtenAs: [fusedTxt] },
    { input: 1, module: `${T}.1.attn.add_v_proj`, weight: 1, writtenAs: [fusedTxt] },
  ].sort(byModule));
  assert.match(unmergedLines(summary.unmerged, summary.inputs.map((i) => i.file)).join('\n'), /transformer\.norm_out\.linear \(as transformer\.final_layer\.adaLN_modulation\.1\)/);
  const [merged, s] = await Promise.all([denseLayers(output), denseLayers(style)]);
  assertClose(merged.get(ADALN)!.w, swapHalves(s.get(NORM_OUT)!.w), 'adaLN = norm_out.linear with halves swapped');
});

/**
 * The same one-layout rule for the other families with a naming table, case by case: the modules each output must
 * hold (spelled out here, from the models' code), and for each native module the diffusers modules whose rows it
 * stacks (`swap`: one module whose scale/shift halves are swapped).
 */
interface LayoutCase {
  readonly name: string;
  readonly kohya: LayerSpec[];
  readonly diffusers: LayerSpec[];
  readonly nativeModules: string[];
  readonly diffusersModules: string[];
  readonly same: ReadonlyArray<{ native: string; parts: ReadonlyArray<[string, number]>; swap?: boolean }>;
  /** Layers only in the style (diffusers) file. */
  readonly styleOnly: string[];
}

const kohyaSpec = (canonical: string, out: number, inFeatures: number): LayerSpec => ({
  ...linear(canonical, out, inFeatures, 4),
  kohyaModule: `lora_unet_${canonical.replace(/^transformer\./, '').replace(/\./g, '_')}`,
});
const J = 'transformer.joint_blocks';
const SD3_LAYOUT: LayoutCase = {
  name: 'SD3.5 (joint_blocks; the last block\'s norm1_context.linear ↔ context_block.adaLN_modulation.1, halves swapped)',
  kohya: [kohyaSpec(`${J}.0.x_block.attn.qkv`, 3 * H, H), kohyaSpec(`${J}.0.x_block.mlp.fc1`, 4 * H, H)],
  diffusers: [
    ...['to_q', 'to_k', 'to_v'].map((p) => linear(`${T}.0.attn.${p}`, H, H, 3)),
    linear(`${T}.0.ff.net.0.proj`, 4 * H, H, 3),
    // Only in the style file: two parts of block 1's context qkv and the last block's 2·hidden context norm.
    linear(`${T}.1.attn.add_q_proj`, H, H, 3),
    linear(`${T}.1.attn.add_k_proj`, H, H, 3),
    linear(`${T}.1.norm1_context.linear`, 2 * H, H, 3),
  ],
  nativeModules: [`${J}.0.x_block.attn.qkv`, `${J}.0.x_block.mlp.fc1`, `${J}.1.context_block.attn.qkv`, `${J}.1.context_block.adaLN_modulation.1`],
  diffusersModules: [`${T}.0.attn.to_q`, `${T}.0.attn.to_k`, `${T}.0.attn.to_v`, `${T}.0.ff.net.0.proj`, `${T}.1.attn.add_q_proj`, `${T}.1.attn.add_k_proj`, `${T}.1.norm1_context.linear`],
  same: [
    { native: `${J}.0.x_block.attn.qkv`, parts: [[`${T}.0.attn.to_q`, H], [`${T}.0.attn.to_k`, H], [`${T}.0.attn.to_v`, H]] },
    { native: `${J}.0.x_block.mlp.fc1`, parts: [[`${T}.0.ff.net.0.proj`, 4 * H]] },
    { native: `${J}.1.context_block.attn.qkv`, parts: [[`${T}.1.attn.add_q_proj`, H], [`${T}.1.attn.add_k_proj`, H]] },
    { native: `${J}.1.context_block.adaLN_modulation.1`, parts: [[`${T}.1.norm1_context.linear`, 2 * H]], swap: true },
  ],
  styleOnly: [`${T}.1.attn.add_q_proj`, `${T}.1.attn.add_k_proj`, `${T}.1.norm1_context.linear`],
};
const W = 'transformer.blocks.0';
const WAN_LAYOUT: LayoutCase = {
  name: 'Wan (musubi-tuner self_attn / cross_attn / ffn ↔ diffusers attn1 / attn2 / ffn.net)',
  kohya: [kohyaSpec(`${W}.self_attn.q`, H, H), kohyaSpec(`${W}.ffn.0`, 4 * H, H)],
  diffusers: [linear(`${W}.attn1.to_q`, H, H, 3), linear(`${W}.ffn.net.0.proj`, 4 * H, H, 3), linear(`${W}.attn2.to_k`, H, H, 3)],
  nativeModules: [`${W}.self_attn.q`, `${W}.ffn.0`, `${W}.cross_attn.k`],
  diffusersModules: [`${W}.attn1.to_q`, `${W}.ffn.net.0.proj`, `${W}.attn2.to_k`],
  same: [
    { native: `${W}.self_attn.q`, parts: [[`${W}.attn1.to_q`, H]] },
    { native: `${W}.ffn.0`, parts: [[`${W}.ffn.net.0.proj`, 4 * H]] },
    { native: `${W}.cross_attn.k`, parts: [[`${W}.attn2.to_k`, H]] },
  ],
  styleOnly: [`${W}.attn2.to_k`],
};

const L = 'transformer.transformer_blocks.0';
const LTX2_LAYOUT: LayoutCase = {
  name: 'LTX-2 (own patchify_proj / adaln_single ↔ diffusers proj_in / time_embed; the audio and video blocks alike)',
  kohya: [kohyaSpec('transformer.patchify_proj', H, H), kohyaSpec(`${L}.audio_attn1.to_q`, H, H), kohyaSpec('transformer.adaln_single.linear', 6 * H, H)],
  diffusers: [linear('transformer.proj_in', H, H, 3), linear(`${L}.audio_attn1.to_q`, H, H, 3), linear('transformer.time_embed.linear', 6 * H, H, 3), linear(`${L}.video_to_audio_attn.to_k`, H, H, 3)],
  nativeModules: ['transformer.patchify_proj', `${L}.audio_attn1.to_q`, 'transformer.adaln_single.linear', `${L}.video_to_audio_attn.to_k`],
  diffusersModules: ['transformer.proj_in', `${L}.audio_attn1.to_q`, 'transformer.time_embed.linear', `${L}.video_to_audio_attn.to_k`],
  same: [
    { native: 'transformer.patchify_proj', parts: [['transformer.proj_in', H]] },
    { native: `${L}.audio_attn1.to_q`, parts: [[`${L}.audio_attn1.to_q`, H]] },
    { native: 'transformer.adaln_single.linear', parts: [['transformer.time_embed.linear', 6 * H]] },
  ],
  styleOnly: [`${L}.video_to_audio_attn.to_k`],
};

for (const c of [SD3_LAYOUT, WAN_LAYOUT, LTX2_LAYOUT]) {
  test(`${c.name}: --naming kohya writes the native layout only, --naming diffusers the diffusers layout only, the same ΔW`, async () => {
    const dir = tempDir();
    const { content, style } = await writePair(dir, { contentScheme: 'kohya', styleScheme: 'peft', contentLayers: c.kohya, styleLayers: c.diffusers, seed: 5 });
    const nativeFile = path.join(dir, 'native.safetensors');
    const diffusersFile = path.join(dir, 'diffusers.safetensors');
    await runMerge(mergeRequest(content, style, nativeFile, { naming: 'kohya', method: 'direct' }));
    await runMerge(mergeRequest(content, style, diffusersFile, { naming: 'diffusers', method: 'direct' }));
    const [native, split, s] = await Promise.all([denseLayers(nativeFile), denseLayers(diffusersFile), denseLayers(style)]);
    assert.deepEqual([...native.keys()].sort(), [...c.nativeModules].sort(), 'kohya naming: native modules only');
    assert.ok((await names(nativeFile)).every((n) => n.startsWith('lora_unet_')), 'kohya naming: lora_unet_ only');
    assert.deepEqual([...split.keys()].sort(), [...c.diffusersModules].sort(), 'diffusers naming: diffusers modules only');
    assert.ok((await names(diffusersFile)).every((n) => n.startsWith('transformer.')), 'diffusers naming: transformer. only');
    for (const { native: module, parts, swap } of c.same) {
      let start = 0;
      for (const [part, count] of parts) {
        const expected = rows(split, part, 0, count);
        assertClose(rows(native, module, start, count), swap ? swapHalves(expected) : expected, `${part} = rows ${start}… of ${module}${swap ? ', halves swapped' : ''}`);
        start += count;
      }
    }
    // A layer only in the style file is written as it was in the diffusers layout.
    for (const module of c.styleOnly) assertClose(split.get(module)!.w, s.get(module)!.w, `${module} copied as is`);
  });
}

/** merged = ΔW_c·diag(m_c) + ΔW_s·diag(m_s) (out × H), relative to the largest entry, and m in [0, 1]. */
function assertZipMerged(merged: Float64Array, c: Float64Array, s: Float64Array, m: { mContent: Float32Array; mStyle: Float32Array }, label: string) {
  const expected = merged.map((_, k) => m.mContent[k % H] * c[k] + m.mStyle[k % H] * s[k]);
  assertClose(merged, expected, label);
  for (const v of [...m.mContent, ...m.mStyle]) assert.ok(v >= 0 && v <= 1, `${label}: coefficient ${v} outside [0, 1]`);
}

for (const contentIsKohya of [true, false]) {
  test(`swapped halves paired exactly (${contentIsKohya ? 'kohya adaLN content + diffusers norm_out style' : 'diffusers norm_out content + kohya adaLN style'}): ZipLoRA merges them as one layer, in either output layout`, async () => {
    const dir = tempDir();
    const kohya = [{ ...linear(ADALN, 2 * H, H, 4), kohyaModule: 'lora_unet_final_layer_adaLN_modulation_1' }];
    const diffusers = [linear(NORM_OUT, 2 * H, H, 3), linear(`${T}.0.attn.to_out.0`, H, H, 3)];
    const kohyaSide = [...kohya, { ...linear('transformer.double_blocks.0.img_attn.proj', H, H, 4), kohyaModule: 'lora_unet_double_blocks_0_img_attn_proj' }];
    const { content, style } = contentIsKohya
      ? await writePair(dir, { contentScheme: 'kohya', styleScheme: 'peft', contentLayers: kohyaSide, styleLayers: diffusers, seed: 7 })
      : await writePair(dir, { contentScheme: 'peft', styleScheme: 'kohya', contentLayers: diffusers, styleLayers: kohyaSide, seed: 7 });
    const compare = runCli(['compare', content, style]);
    assert.equal(compare.status, 0, compare.stderr);
    assert.match(compare.stdout, /Swapped halves 1 pairs/);
    assert.match(compare.stdout, contentIsKohya ? /transformer\.final_layer\.adaLN_modulation\.1 ↔ transformer\.norm_out\.linear/ : /transformer\.norm_out\.linear ↔ transformer\.final_layer\.adaLN_modulation\.1/);
    const [c, s] = await Promise.all([denseLayers(content), denseLayers(style)]);
    // Both in the content's row order: the native twin's rows are the diffusers one's with the halves swapped.
    const contentModule = contentIsKohya ? ADALN : NORM_OUT;
    const styleInContentOrder = swapHalves(s.get(contentIsKohya ? NORM_OUT : ADALN)!.w);
    for (const naming of ['kohya', 'diffusers'] as const) {
      const output = path.join(dir, `merged-${naming}.safetensors`);
      const summary = await runMerge(mergeRequest(content, style, output, { naming }));
      assert.equal(summary.layers.merged, 2, 'adaLN ↔ norm_out.linear and img_attn.proj ↔ to_out.0');
      assert.deepEqual(summary.unmerged.leftOut, []);
      const merged = await denseLayers(output);
      const { coefficients } = await readSidecar(output.replace(/\.safetensors$/, '.ziplora.safetensors'));
      const m = coefficients.get(contentModule)!;
      assert.ok(m, `coefficients under the content's module ${contentModule}`);
      // In the output's layout: adaLN for kohya, norm_out.linear for diffusers; back to the content's order to compare.
      const written = naming === 'kohya' ? ADALN : NORM_OUT;
      assert.deepEqual([...merged.keys()].filter((k) => k === ADALN || k === NORM_OUT), [written], `${naming}: one final norm, ${written}`);
      const inContentOrder = written === contentModule ? merged.get(written)!.w : swapHalves(merged.get(written)!.w);
      assertZipMerged(inContentOrder, c.get(contentModule)!.w, styleInContentOrder, m, `${naming} output ${written}`);
    }
  });
}
