/**
 * Synthetic LoRAs with real names and shapes (from the shape dumps of real LoRAs in ../shared/fixtures/shapes)
 * and seeded random weights, written as real .safetensors files in any naming scheme.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeFromF32 } from '../../src/core/safetensors/float';
import { TensorToWrite } from '../../src/core/safetensors/writer';
import { writeSafetensors } from './write-safetensors';
import { BaseModelFamily, canonicalToDiffusers, canonicalToKohya, kohyaToCanonical, splitComponent } from '../../src/core/lora/naming';
import { SHAPE_DUMPS } from './build-safetensors';
import { randomNormal } from './seeded-random';

export { randomNormal, seededRandom } from './seeded-random';

export interface DumpTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** A shape dump (tensor name → {shape, dtype: "torch.float16"…}); entries without a shape are skipped. */
export function readShapeDump(fileName: string): DumpTensor[] {
  return readShapeDumpFile(path.join(SHAPE_DUMPS, fileName));
}

/** A shape dump at any path (the device check carries its own copy). */
export function readShapeDumpFile(file: string): DumpTensor[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { shape?: number[]; dtype?: string }>;
  return Object.entries(parsed)
    .filter(([, v]) => Array.isArray(v.shape))
    .map(([name, v]) => ({ name, shape: v.shape!, dtype: v.dtype ?? '' }));
}

/** One layer to generate: its canonical name and the shapes of its down (r × in [× kh × kw]) and up (out × r [× 1 × 1]) factors. */
export interface LayerSpec {
  readonly canonical: string;
  readonly downShape: readonly number[];
  readonly upShape: readonly number[];
  /** The name the layer had in the dump, when generated from a kohya dump. */
  readonly kohyaModule?: string;
}

/** The layers of a kohya shape dump, with canonical names computed by the code under test. */
export function layersFromKohyaDump(dump: readonly DumpTensor[]): LayerSpec[] {
  const byModule = new Map<string, { down?: readonly number[]; up?: readonly number[] }>();
  for (const t of dump) {
    const m = /^(.+)\.lora_(down|up)\.weight$/.exec(t.name);
    if (!m) continue;
    const entry = byModule.get(m[1]) ?? {};
    entry[m[2] as 'down' | 'up'] = t.shape;
    byModule.set(m[1], entry);
  }
  return [...byModule].map(([kohyaModule, e]) => {
    const canonical = kohyaToCanonical(kohyaModule);
    if (!canonical || !e.down || !e.up) throw new Error(`shape dump layer ${kohyaModule} is incomplete or unnamed`);
    return { canonical, kohyaModule, downShape: e.down, upShape: e.up };
  });
}


/**
 * `native-*`: a diffusion transformer's own module names (BFL Flux `double_blocks.0.img_attn.qkv`) under the
 * prefix ai-toolkit writes (`diffusion_model.`), PEFT's wrapper (`base_model.model.`) or none, with lora_A/lora_B;
 * `kohya-dotted`: lora_down/lora_up/alpha on dotted names without a component (musubi-tuner/ComfyUI Qwen-Image files).
 */
export type GeneratedScheme = 'kohya' | 'peft' | 'diffusers-old' | 'diffusers-attn-processor' | 'mlx'
  | 'native-diffusion-model' | 'native-peft' | 'native-bare' | 'kohya-dotted' | 'xlabs';

/**
 * The tensor names of a layer in a scheme. Old diffusers and attention-processor names are spelled out here
 * (not taken from the code under test) so that reading them is checked against an independent writer.
 */
export function generatedNames(layer: LayerSpec, scheme: GeneratedScheme, family: BaseModelFamily): { down: string; up: string; alpha?: string } {
  switch (scheme) {
    case 'kohya': {
      const module = layer.kohyaModule ?? canonicalToKohya(layer.canonical, family);
      return { down: `${module}.lora_down.weight`, up: `${module}.lora_up.weight`, alpha: `${module}.alpha` };
    }
    case 'peft': {
      const module = canonicalToDiffusers(layer.canonical);
      return { down: `${module}.lora_A.weight`, up: `${module}.lora_B.weight` };
    }
    case 'native-diffusion-model':
    case 'native-peft':
    case 'native-bare': {
      const path = layer.canonical.replace(/^transformer\./, '');
      const prefix = { 'native-diffusion-model': 'diffusion_model.', 'native-peft': 'base_model.model.', 'native-bare': '' }[scheme];
      return { down: `${prefix}${path}.lora_A.weight`, up: `${prefix}${path}.lora_B.weight` };
    }
    case 'xlabs': {
      const m = /^transformer\.double_blocks\.(\d+)\.(img|txt)_attn\.(qkv|proj)$/.exec(layer.canonical);
      if (!m) throw new Error(`${layer.canonical} has no XLabs name`);
      const module = `double_blocks.${m[1]}.processor.${m[3]}_lora${m[2] === 'img' ? 1 : 2}`;
      return { down: `${module}.down.weight`, up: `${module}.up.weight` };
    }
    case 'kohya-dotted': {
      const path = layer.canonical.replace(/^transformer\./, '');
      return { down: `${path}.lora_down.weight`, up: `${path}.lora_up.weight`, alpha: `${path}.alpha` };
    }
    case 'diffusers-old':
      return { down: `${layer.canonical}.lora.down.weight`, up: `${layer.canonical}.lora.up.weight` };
    case 'diffusers-attn-processor': {
      const m = /^unet\.(.+)\.(to_q|to_k|to_v|to_out\.0)$/.exec(layer.canonical);
      if (!m) throw new Error(`${layer.canonical} has no attention-processor name`);
      const projection = m[2] === 'to_out.0' ? 'to_out' : m[2];
      return { down: `${m[1]}.processor.${projection}_lora.down.weight`, up: `${m[1]}.processor.${projection}_lora.up.weight` };
    }
    case 'mlx': {
      const { component } = splitComponent(layer.canonical);
      if (component) throw new Error(`${layer.canonical} is not a language-model layer`);
      return { down: `${layer.canonical}.lora_a`, up: `${layer.canonical}.lora_b` };
    }
  }
}

/** The values of one generated layer, in the standard (not MLX) layout: down r × columns, up out × r. */
export interface LayerValues {
  readonly down: Float32Array;
  readonly up: Float32Array;
  readonly alpha: number;
}

export function randomLayerValues(layer: LayerSpec, random: () => number, alpha?: number): LayerValues {
  const downCount = layer.downShape.reduce((a, b) => a * b, 1);
  const upCount = layer.upShape.reduce((a, b) => a * b, 1);
  const rank = layer.downShape[0];
  return { down: randomNormal(downCount, random, 1 / Math.sqrt(downCount / rank)), up: randomNormal(upCount, random, 0.01), alpha: alpha ?? rank / 2 };
}

function transposed(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = values[i * cols + j];
  return out;
}

export interface WriteLoraOptions {
  readonly scheme: GeneratedScheme;
  readonly family: BaseModelFamily;
  readonly dtype?: 'F32' | 'F16' | 'BF16';
  readonly metadata?: Record<string, string>;
  /** Tensors that are no LoRA factor (bundled embeddings, norm weights…), written after the layers, zero-filled. */
  readonly extraTensors?: ReadonlyArray<{ readonly name: string; readonly shape: readonly number[] }>;
}

/** Writes layers (values given, or produced lazily per layer) as a LoRA file in the chosen scheme. */
export async function writeLora(file: string, layers: readonly LayerSpec[], values: (layer: LayerSpec, index: number) => LayerValues, options: WriteLoraOptions): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  const tensors: TensorToWrite[] = [];
  // Values are produced once per layer, when the writer reaches its first tensor.
  let cached: { index: number; values: LayerValues } | undefined;
  const valuesOf = (index: number) => {
    if (cached?.index !== index) cached = { index, values: values(layers[index], index) };
    return cached.values;
  };
  layers.forEach((layer, index) => {
    const names = generatedNames(layer, options.scheme, options.family);
    const rank = layer.downShape[0];
    if (options.scheme === 'mlx') {
      const columns = layer.downShape[1];
      const out = layer.upShape[0];
      tensors.push({ name: names.down, dtype, shape: [columns, rank], data: () => encodeFromF32(dtype, transposed(valuesOf(index).down, rank, columns)) });
      tensors.push({ name: names.up, dtype, shape: [rank, out], data: () => encodeFromF32(dtype, transposed(valuesOf(index).up, out, rank)) });
      return;
    }
    tensors.push({ name: names.down, dtype, shape: layer.downShape, data: () => encodeFromF32(dtype, valuesOf(index).down) });
    tensors.push({ name: names.up, dtype, shape: layer.upShape, data: () => encodeFromF32(dtype, valuesOf(index).up) });
    if (names.alpha) tensors.push({ name: names.alpha, dtype, shape: [], data: () => encodeFromF32(dtype, new Float32Array([valuesOf(index).alpha])) });
  });
  for (const extra of options.extraTensors ?? []) {
    tensors.push({ name: extra.name, dtype, shape: [...extra.shape], data: () => encodeFromF32(dtype, new Float32Array(extra.shape.reduce((a, b) => a * b, 1))) });
  }
  await writeSafetensors(file, tensors, options.metadata ?? {});
}

/** The same layers at another rank (tests keep files small by using rank 1–4 with the real widths). */
export function withRank(layers: readonly LayerSpec[], rank: number): LayerSpec[] {
  return layers.map((l) => ({ ...l, downShape: [rank, ...l.downShape.slice(1)], upShape: [l.upShape[0], rank, ...l.upShape.slice(2)] }));
}

/**
 * A compact layout under test/fixtures: module paths with a block index letter (`N` every block, `M` every block
 * but the last, `L` the last block only), `[out, in]` each, and block counts per container (`joint_blocks`,
 * `text_model.encoder.layers`); a path without a letter is one module. (`__filename`, not `__dirname`: the
 * webview tests load this module from ES modules, where tsx defines only the former.)
 */
export function layersFromLayout(fileName: string, rank: number, component = 'transformer'): LayerSpec[] {
  const layout = JSON.parse(readFileSync(path.join(path.dirname(__filename), '../fixtures', fileName), 'utf8')) as {
    blocks: Record<string, number>;
    modules: Record<string, [number, number]>;
  };
  const layers: LayerSpec[] = [];
  for (const [pattern, [out, inFeatures]] of Object.entries(layout.modules)) {
    const container = Object.keys(layout.blocks).find((c) => /^\.[NML]\./.test(pattern.slice(c.length)) && pattern.startsWith(c));
    const letter = container ? pattern[container.length + 1] : undefined;
    const count = container ? layout.blocks[container] : 1;
    const indices = letter === undefined ? [-1] : [...Array(count).keys()].filter((n) => letter === 'N' || (letter === 'M' ? n < count - 1 : n === count - 1));
    for (const n of indices) {
      const module = n < 0 ? pattern : `${container}.${n}${pattern.slice(container!.length + 2)}`;
      layers.push({ canonical: `${component}.${module}`, downShape: [rank, inFeatures], upShape: [out, rank] });
    }
  }
  return layers;
}
