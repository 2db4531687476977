/**
 * Fused ↔ split merges (Flux and SD3.5 geometry scaled down to hidden 32 so dense checks stay small): a kohya file
 * with fused qkv modules (Flux img_attn.qkv / txt_attn.qkv / linear1, SD3 x_block / context_block attn.qkv and
 * x_block.attn2.qkv, Flux.2 and Chroma) against a diffusers file with to_q/to_k/to_v, add_*_proj and proj_mlp (and the
 * renamed modules beside them).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runMerge } from '../../src/core/merge/pipeline';
import { tempDir } from '../support/build-safetensors';
import { LayerSpec, randomLayerValues, seededRandom, writeLora } from '../support/lora-generators';
import { runCli } from '../support/run-cli';
import { denseLayers, mergeRequest, mergeRequestOf, readSidecar, writePair } from '../support/merge-fixtures';

const H = 32;
const MLP = 4 * H;
const linear = (canonical: string, out: number, inFeatures: number, rank: number): LayerSpec => ({ canonical, downShape: [rank, inFeatures], upShape: [out, rank] });
/** kohya names spelled out (lora_unet_ + the native path with `_`), not computed by the code under test. */
const kohya = (canonical: string, out: number, inFeatures: number, rank: number): LayerSpec => ({
  ...linear(canonical, out, inFeatures, rank),
  kohyaModule: `lora_unet_${canonical.replace(/^transformer\./, '').replace(/\./g, '_')}`,
});

/** Split parts, rank 8, `H` rows each: `prefix` + each name. */
const parts = (prefix: string, names: string[]): LayerSpec[] => names.map((n) => linear(`${prefix}${n}`, H, H, 8));

/**
 * One family's fused ↔ split geometry: the kohya side's fused modules (rank 4), the diffusers side's split parts
 * (rank 8, one part missing so that its rows of the fused LoRA are zero), and each fused module's parts in row order
 * (from the models' definitions, written out independently here).
 */
interface FusedSplitCase {
  readonly name: string;
  readonly fused: LayerSpec[];
  readonly split: LayerSpec[];
  readonly parts: Record<string, string[]>;
  /** The part the split side lacks. */
  readonly missing: string;
}

const FLUX: FusedSplitCase = {
  name: 'Flux (BFL img_attn.qkv / txt_attn.qkv / linear1)',
  fused: [
    kohya('transformer.double_blocks.0.img_attn.qkv', 3 * H, H, 4),
    kohya('transformer.double_blocks.0.txt_attn.qkv', 3 * H, H, 4),
    kohya('transformer.double_blocks.0.img_attn.proj', H, H, 4),
    kohya('transformer.single_blocks.0.linear1', 3 * H + MLP, H, 4),
  ],
  split: [
    ...parts('transformer.transformer_blocks.0.attn.', ['to_q', 'to_k', 'to_v', 'add_q_proj', 'add_k_proj', 'to_out.0']),
    ...parts('transformer.single_transformer_blocks.0.attn.', ['to_q', 'to_k', 'to_v']),
    linear('transformer.single_transformer_blocks.0.proj_mlp', MLP, H, 8),
  ],
  parts: {
    'transformer.double_blocks.0.img_attn.qkv': ['to_q', 'to_k', 'to_v'].map((p) => `transformer.transformer_blocks.0.attn.${p}`),
    'transformer.double_blocks.0.txt_attn.qkv': ['add_q_proj', 'add_k_proj', 'add_v_proj'].map((p) => `transformer.transformer_blocks.0.attn.${p}`),
    'transformer.single_blocks.0.linear1': ['attn.to_q', 'attn.to_k', 'attn.to_v', 'proj_mlp'].map((p) => `transformer.single_transformer_blocks.0.${p}`),
    'transformer.double_blocks.0.img_attn.proj': ['transformer.transformer_blocks.0.attn.to_out.0'],
  },
  missing: 'transformer.transformer_blocks.0.attn.add_v_proj',
};

const SD3: FusedSplitCase = {
  name: 'SD3.5 (MMDiT x_block / context_block attn.qkv, x_block.attn2.qkv)',
  fused: [
    kohya('transformer.joint_blocks.0.x_block.attn.qkv', 3 * H, H, 4),
    kohya('transformer.joint_blocks.0.context_block.attn.qkv', 3 * H, H, 4),
    kohya('transformer.joint_blocks.0.x_block.attn2.qkv', 3 * H, H, 4),
    kohya('transformer.joint_blocks.0.x_block.attn.proj', H, H, 4),
  ],
  split: [
    ...parts('transformer.transformer_blocks.0.attn.', ['to_q', 'to_k', 'to_v', 'add_q_proj', 'add_v_proj', 'to_out.0']),
    ...parts('transformer.transformer_blocks.0.attn2.', ['to_q', 'to_k', 'to_v']),
  ],
  parts: {
    'transformer.joint_blocks.0.x_block.attn.qkv': ['to_q', 'to_k', 'to_v'].map((p) => `transformer.transformer_blocks.0.attn.${p}`),
    'transformer.joint_blocks.0.context_block.attn.qkv': ['add_q_proj', 'add_k_proj', 'add_v_proj'].map((p) => `transformer.transformer_blocks.0.attn.${p}`),
    'transformer.joint_blocks.0.x_block.attn2.qkv': ['to_q', 'to_k', 'to_v'].map((p) => `transformer.transformer_blocks.0.attn2.${p}`),
    'transformer.joint_blocks.0.x_block.attn.proj': ['transformer.transformer_blocks.0.attn.to_out.0'],
  },
  missing: 'transformer.transformer_blocks.0.attn.add_k_proj',
};

const Z_IMAGE: FusedSplitCase = {
  name: 'Z-Image (NextDiT attention.qkv; diffusers attention.to_q/to_k/to_v, not Lumina 2\'s attn.to_q)',
  fused: [kohya('transformer.layers.0.attention.qkv', 3 * H, H, 4), kohya('transformer.layers.0.attention.out', H, H, 4)],
  split: parts('transformer.layers.0.attention.', ['to_q', 'to_k', 'to_out.0']),
  parts: {
    'transformer.layers.0.attention.qkv': ['to_q', 'to_k', 'to_v'].map((p) => `transformer.layers.0.attention.${p}`),
    'transformer.layers.0.attention.out': ['transformer.layers.0.attention.to_out.0'],
  },
  missing: 'transformer.layers.0.attention.to_v',
};

/**
 * Flux.2: fused double-block qkv as Flux.1's, renamed MLP input (img_mlp.0 = ff.linear_in, 6·H rows) and single-block
 * linear1 = attn.to_qkv_mlp_proj (9·H rows: that ratio alone names the family at this width).
 */
const FLUX2: FusedSplitCase = {
  name: 'Flux.2 (BFL img_attn.qkv / txt_attn.qkv; img_mlp.0 = ff.linear_in, linear1 = attn.to_qkv_mlp_proj)',
  fused: [
    kohya('transformer.double_blocks.0.img_attn.qkv', 3 * H, H, 4),
    kohya('transformer.double_blocks.0.txt_attn.qkv', 3 * H, H, 4),
    kohya('transformer.double_blocks.0.img_mlp.0', 6 * H, H, 4),
    kohya('transformer.single_blocks.0.linear1', 9 * H, H, 4),
  ],
  split: [
    ...parts('transformer.transformer_blocks.0.attn.', ['to_q', 'to_k', 'to_v', 'add_q_proj', 'add_k_proj']),
    linear('transformer.transformer_blocks.0.ff.linear_in', 6 * H, H, 8),
    linear('transformer.single_transformer_blocks.0.attn.to_qkv_mlp_proj', 9 * H, H, 8),
  ],
  parts: {
    'transformer.double_blocks.0.img_attn.qkv': ['to_q', 'to_k', 'to_v'].map((p) => `transformer.transformer_blocks.0.attn.${p}`),
    'transformer.double_blocks.0.txt_attn.qkv': ['add_q_proj', 'add_k_proj', 'add_v_proj'].map((p) => `transformer.transformer_blocks.0.attn.${p}`),
    'transformer.double_blocks.0.img_mlp.0': ['transformer.transformer_blocks.0.ff.linear_in'],
    'transformer.single_blocks.0.linear1': ['transformer.single_transformer_blocks.0.attn.to_qkv_mlp_proj'],
  },
  missing: 'transformer.transformer_blocks.0.attn.add_v_proj',
};

/** Chroma: Flux.1's fused qkv, and its approximator's native in_layer = diffusers linear_1 (the approximator names the family). */
const CHROMA: FusedSplitCase = {
  name: 'Chroma (BFL img_attn.qkv; distilled_guidance_layer in_layer = linear_1)',
  fused: [
    kohya('transformer.double_blocks.0.img_attn.qkv', 3 * H, H, 4),
    kohya('transformer.distilled_guidance_layer.layers.0.in_layer', H, H, 4),
  ],
  split: [...parts('transformer.transformer_blocks.0.attn.', ['to_q', 'to_v']), linear('transformer.distilled_guidance_layer.layers.0.linear_1', H, H, 8)],
  parts: {
    'transformer.double_blocks.0.img_attn.qkv': ['to_q', 'to_k', 'to_v'].map((p) => `transformer.transformer_blocks.0.attn.${p}`),
    'transformer.distilled_guidance_layer.layers.0.in_layer': ['transformer.distilled_guidance_layer.layers.0.linear_1'],
  },
  missing: 'transformer.transformer_blocks.0.attn.to_k',
};

const partRowsOf = (part: string) => (part.endsWith('proj_mlp') ? MLP : H);

type Dense = Map<string, { w: Float64Array; out: number; cols: number }>;

/** A fused module's ΔW from the split file's parts (missing parts = zero rows), or the layer itself if not split. */
function fusedDelta(dense: Dense, parts: Record<string, string[]>, fused: string, out: number): Float64Array {
  const direct = dense.get(fused);
  if (direct) return direct.w;
  const w = new Float64Array(out * H);
  let row = 0;
  for (const part of parts[fused]) {
    const p = dense.get(part);
    if (p) w.set(p.w, row * H);
    row += partRowsOf(part);
  }
  return w;
}

function assertMerged(merged: Float64Array, c: Float64Array, s: Float64Array, m: { mContent: Float32Array; mStyle: Float32Array }, out: number, label: string) {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < out; i++)
    for (let j = 0; j < H; j++) {
      const expected = m.mContent[j] * c[i * H + j] + m.mStyle[j] * s[i * H + j];
      worst = Math.max(worst, Math.abs(merged[i * H + j] - expected));
      scale = Math.max(scale, Math.abs(expected));
    }
  assert.ok(worst / scale < 1e-5, `${label}: relative error ${worst / scale}`);
  for (const v of [...m.mContent, ...m.mStyle]) assert.ok(v >= 0 && v <= 1, `${label}: coefficient ${v} outside [0, 1]`);
}

const outOf = (c: FusedSplitCase, fused: string) => c.fused.find((l) => l.canonical === fused)!.upShape[0];

const CASES = [FLUX, SD3, Z_IMAGE, FLUX2, CHROMA];
for (const c of CASES) {
  test(`${c.name}: kohya fused (content) + diffusers split (style): every layer merged at the fused module, exactly`, async () => {
    const dir = path.join(tempDir(), `fused-content-${CASES.indexOf(c)}`);
    mkdirSync(dir);
    const { content, style } = await writePair(dir, { contentScheme: 'kohya', styleScheme: 'peft', contentLayers: c.fused, styleLayers: c.split });
    const output = path.join(dir, 'merged.safetensors');
    const summary = await runMerge(mergeRequest(content, style, output));
    assert.equal(summary.layers.merged, c.fused.length, 'each fused module and its parts are one pair');
    const [merged, cd, sd] = await Promise.all([denseLayers(output), denseLayers(content), denseLayers(style)]);
    const { coefficients } = await readSidecar(output.replace(/\.safetensors$/, '.ziplora.safetensors'));
    assert.deepEqual([...merged.keys()].sort(), c.fused.map((l) => l.canonical).sort(), 'written in the content (fused, kohya) naming');
    for (const fused of Object.keys(c.parts)) {
      const out = outOf(c, fused);
      assertMerged(merged.get(fused)!.w, cd.get(fused)!.w, fusedDelta(sd, c.parts, fused, out), coefficients.get(fused)!, out, fused);
    }
  });

  test(`${c.name}: diffusers split content + kohya fused style: written back as split parts, which re-fused equal the merge at the fused module`, async () => {
    const dir = path.join(tempDir(), `split-content-${CASES.indexOf(c)}`);
    mkdirSync(dir);
    const { content, style } = await writePair(dir, { contentScheme: 'peft', styleScheme: 'kohya', contentLayers: c.split, styleLayers: c.fused, seed: 2 });
    const output = path.join(dir, 'merged.safetensors');
    const summary = await runMerge(mergeRequest(content, style, output));
    assert.equal(summary.layers.merged, c.fused.length);
    const [merged, cd, sd] = await Promise.all([denseLayers(output), denseLayers(content), denseLayers(style)]);
    const everyPart = [...c.split.map((l) => l.canonical), c.missing].sort();
    assert.deepEqual([...merged.keys()].sort(), everyPart, `every split part, also ${c.missing} that the content lacks: its rows carry the style`);
    const { coefficients } = await readSidecar(output.replace(/\.safetensors$/, '.ziplora.safetensors'));
    for (const fused of Object.keys(c.parts)) {
      const out = outOf(c, fused);
      // A renamed (not split) pair is named by the content's module (to_out.0), a fused one by the fused module.
      const m = coefficients.get(fused) ?? coefficients.get(c.parts[fused][0]);
      assert.ok(m, `no coefficients for ${fused}`);
      assertMerged(fusedDelta(merged, c.parts, fused, out), fusedDelta(cd, c.parts, fused, out), sd.get(fused)!.w, m, out, fused);
    }
  });
}

/** Three Flux LoRAs, each as `layout` says (split: diffusers parts, fused: kohya), different seeds. */
async function writeThree(dir: string, layouts: readonly ('split' | 'fused')[]): Promise<string[]> {
  const files: string[] = [];
  for (const [k, layout] of layouts.entries()) {
    const file = path.join(dir, `${k + 1}-${layout}.safetensors`);
    const layers = layout === 'split' ? FLUX.split : FLUX.fused;
    await writeLora(file, layers, (l, i) => randomLayerValues(l, seededRandom(500 * (k + 1) + i), l.downShape[0]), { scheme: layout === 'split' ? 'peft' : 'kohya', family: 'flux' });
    files.push(file);
  }
  return files;
}

for (const layouts of [['split', 'split', 'fused'], ['fused', 'split', 'split'], ['split', 'fused', 'split']] as const) {
  test(`3-way Flux, ${layouts.join(' + ')}: the split inputs' parts are fused where any input is fused, and the merge is exact at the fused module`, async () => {
    const dir = path.join(tempDir(), `three-${layouts.join('-')}`);
    mkdirSync(dir);
    const files = await writeThree(dir, layouts);
    const output = path.join(dir, 'merged.safetensors');
    const summary = await runMerge(mergeRequestOf(files, output));
    assert.equal(summary.layers.merged, FLUX.fused.length, 'each fused module and its parts are one merged layer');
    assert.deepEqual(summary.layers.copied, [0, 0, 0]);
    const [merged, ...inputs] = await Promise.all([denseLayers(output), ...files.map((f) => denseLayers(f))]);
    const { coefficients } = await readSidecar(output.replace(/\.safetensors$/, '.ziplora.safetensors'));
    for (const fused of Object.keys(FLUX.parts)) {
      const out = outOf(FLUX, fused);
      const m = coefficients.get(fused) ?? coefficients.get(FLUX.parts[fused][0]);
      assert.ok(m, `no coefficients for ${fused}`);
      assert.equal(m.m.filter(Boolean).length, 3, `${fused}: all three inputs merged`);
      const got = fusedDelta(merged, FLUX.parts, fused, out);
      const deltas = inputs.map((d) => fusedDelta(d, FLUX.parts, fused, out));
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < out; i++)
        for (let j = 0; j < H; j++) {
          const expected = deltas.reduce((sum, w, k) => sum + m.m[k][j] * w[i * H + j], 0);
          worst = Math.max(worst, Math.abs(got[i * H + j] - expected));
          scale = Math.max(scale, Math.abs(expected));
        }
      assert.ok(worst / scale < 1e-5, `${fused}: relative error ${worst / scale}`);
    }
  });
}

test('ziplora compare names the fused ↔ split pairs (text and --json)', async () => {
  const dir = path.join(tempDir(), 'compare');
  mkdirSync(dir);
  const { content, style } = await writePair(dir, { contentScheme: 'kohya', styleScheme: 'peft', contentLayers: FLUX.fused, styleLayers: FLUX.split });
  const text = runCli(['compare', content, style]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /Fused ↔ split\s+3 pairs/);
  assert.match(text.stdout, /transformer\.double_blocks\.0\.txt_attn\.qkv \(B: add_q_proj \+ add_k_proj\)/);
  const json = runCli(['compare', '--json', content, style]);
  const parsed = JSON.parse(json.stdout) as { pairing: { paired: number; fusedSplit: { module: string; splitSide: string; parts: string[] }[] } };
  assert.equal(parsed.pairing.paired, 4);
  assert.deepEqual(parsed.pairing.fusedSplit.find((f) => f.module === 'transformer.single_blocks.0.linear1'), {
    module: 'transformer.single_blocks.0.linear1',
    splitSide: 'second',
    parts: ['attn.to_q', 'attn.to_k', 'attn.to_v', 'proj_mlp'].map((p) => `transformer.single_transformer_blocks.0.${p}`),
  });
});
