/** Small content/style LoRA pairs with SD1.5 names and shapes, and dense readers for checking merge outputs. */
import path from 'node:path';
import { readLayerFactors } from '../../src/core/lora/factors';
import { openLora } from '../../src/core/lora/open-lora';
import { DEFAULT_MERGE_OPTIONS, MergeRequest } from '../../src/core/merge/request';
import { withSafetensors } from '../../src/core/safetensors/reader';
import { writeSafetensors } from './write-safetensors';
import { GeneratedScheme, LayerSpec, randomLayerValues, seededRandom, writeLora } from './lora-generators';

/** SD1.5 UNet layers: linear attention projections, a 1×1 conv (proj_in) and a 3×3 conv (resnet). */
export const SD15_LAYERS: LayerSpec[] = [
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', downShape: [4, 320], upShape: [320, 4] },
  { canonical: 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', downShape: [4, 768], upShape: [320, 4] },
  { canonical: 'unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_v', downShape: [4, 768], upShape: [1280, 4] },
  { canonical: 'unet.down_blocks.0.attentions.0.proj_in', downShape: [4, 320, 1, 1], upShape: [320, 4, 1, 1] },
  { canonical: 'unet.down_blocks.0.resnets.0.conv1', downShape: [2, 320, 3, 3], upShape: [320, 2, 1, 1] },
];

export async function writePair(
  dir: string,
  options: { contentScheme?: GeneratedScheme; styleScheme?: GeneratedScheme; contentLayers?: LayerSpec[]; styleLayers?: LayerSpec[]; seed?: number; dtype?: 'F32' | 'F16' | 'BF16' } = {},
): Promise<{ content: string; style: string }> {
  const content = path.join(dir, `content-${options.contentScheme ?? 'kohya'}.safetensors`);
  const style = path.join(dir, `style-${options.styleScheme ?? 'kohya'}.safetensors`);
  const seed = options.seed ?? 1;
  await writeLora(content, options.contentLayers ?? SD15_LAYERS, (l, i) => randomLayerValues(l, seededRandom(seed * 100 + i), l.downShape[0]), {
    scheme: options.contentScheme ?? 'kohya',
    family: 'sd1',
    dtype: options.dtype,
  });
  await writeLora(style, options.styleLayers ?? SD15_LAYERS, (l, i) => randomLayerValues(l, seededRandom(seed * 100 + 50 + i), 1), {
    scheme: options.styleScheme ?? 'kohya',
    family: 'sd1',
    dtype: options.dtype,
  });
  return { content, style };
}

/** A two-way request (content = input 1, style = input 2), each weight 1, on wasm in F32. */
export function mergeRequest(content: string, style: string, output: string, overrides: Partial<MergeRequest> = {}): MergeRequest {
  return mergeRequestOf([content, style], output, overrides);
}

/** A request merging `files` in order, each weight 1, on wasm in F32. */
export function mergeRequestOf(files: readonly string[], output: string, overrides: Partial<MergeRequest> = {}): MergeRequest {
  return { ...DEFAULT_MERGE_OPTIONS, inputs: files.map((path) => ({ path, weight: 1 })), output, steps: 20, backend: 'wasm', dtype: 'F32', ...overrides };
}

/** Every layer of a LoRA file as a dense ΔW = scale·B·A (out × columns), keyed by canonical module. */
export async function denseLayers(file: string): Promise<Map<string, { w: Float64Array; out: number; cols: number }>> {
  const lora = await openLora(file);
  try {
    const result = new Map<string, { w: Float64Array; out: number; cols: number }>();
    for (const layer of lora.lora.layers) {
      const { down, upTransposed } = await readLayerFactors(lora.file, layer);
      const [r, out, cols] = [layer.rank, layer.outFeatures, layer.columns];
      const w = new Float64Array(out * cols);
      for (let a = 0; a < r; a++)
        for (let i = 0; i < out; i++) {
          const b = upTransposed[a * out + i] * layer.scale;
          for (let j = 0; j < cols; j++) w[i * cols + j] += b * down[a * cols + j];
        }
      result.set(layer.module, { w, out, cols });
    }
    return result;
  } finally {
    await lora.file.close();
  }
}

/**
 * The sidecar's coefficient vectors per module (format 2: `<module>.m.<i>`, i the request's input index; `m[i]`
 * is undefined for an input the layer does not have, and for two inputs mContent/mStyle name m[0] and m[1]), and its report.
 */
export async function readSidecar(file: string) {
  return withSafetensors(file, async (read) => {
    const coefficients = new Map<string, { m: Float32Array[]; mContent: Float32Array; mStyle: Float32Array }>();
    for (const t of read.tensors) {
      const match = /^(.+)\.m\.(\d+)$/.exec(t.name);
      if (!match) continue;
      const entry = coefficients.get(match[1]) ?? { m: [] as Float32Array[], mContent: new Float32Array(0), mStyle: new Float32Array(0) };
      entry.m[Number(match[2])] = await read.readF32(t);
      coefficients.set(match[1], { ...entry, mContent: entry.m[0], mStyle: entry.m[1] });
    }
    return { coefficients, metadata: read.metadata, report: JSON.parse(read.metadata.ziplora_report) as Record<string, unknown>[] };
  });
}

/** Broken or incompatible inputs for the error tests, each named as the messages quote it. */
export const BROKEN_INPUTS = {
  /** SD15_LAYERS with one NaN in mid_block…attn2.to_v's down. */
  async nan(file: string): Promise<void> {
    await writeLora(file, SD15_LAYERS, (l, i) => {
      const values = randomLayerValues(l, seededRandom(i));
      if (i === 2) values.down[5] = NaN;
      return values;
    }, { scheme: 'kohya', family: 'sd1' });
  },
  /** The same module names with every input width doubled: no shared layer has a matching shape. */
  async wide(file: string): Promise<void> {
    const wide = SD15_LAYERS.map((l) => ({ ...l, downShape: [l.downShape[0], l.downShape[1] * 2, ...l.downShape.slice(2)] }));
    await writeLora(file, wide, (l, i) => randomLayerValues(l, seededRandom(i)), { scheme: 'kohya', family: 'sd1' });
  },
  /** A LyCORIS LoKr (lokr_w1/lokr_w2), which is not a plain B·A LoRA. */
  async lokr(file: string): Promise<void> {
    await writeSafetensors(file, [
      { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w1', dtype: 'F16', shape: [4, 4], data: new Uint8Array(32) },
      { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lokr_w2', dtype: 'F16', shape: [80, 80], data: new Uint8Array(12800) },
      { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.alpha', dtype: 'F16', shape: [], data: new Uint8Array(2) },
    ]);
  },
};
