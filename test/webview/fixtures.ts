/**
 * Host messages for the browser tests, generated: an SDXL-like kohya LoRA with 1,000 layers (3,000 tensors:
 * down, up, alpha), its per-layer measures, and the ZipLoRA report of a two-input merge with 1,000 layers (as a
 * format-1 sidecar reads: content and style, with the zipped shares). Values come from a seeded generator
 * (test/support/sidecar-builder.ts), so every run sees the same data. Layers are generated in network order.
 */
import type { LoraLayerSummary } from '../../src/core/lora/summary.js';
import { dtypeBreakdown, parameterCount, type TensorSummary } from '../../src/core/safetensors/summary.js';
import type { TensorStats } from '../../src/core/stats/tensor-stats.js';
import type { FileView, HostToWebview, ZipLoraView } from '../../src/shared/webview-protocol.js';
import { seededRandom } from '../support/lora-generators.js';
import { buildSidecar, formatOneReport, type BuiltSidecar } from '../support/sidecar-builder.js';

export const LAYER_COUNT = 1000;


interface Module {
  readonly module: string;
  readonly kohya: string;
  readonly in: number;
  readonly out: number;
}

/** Module names in network order: text encoder 1, text encoder 2, then UNet down, mid and up blocks. */
export function moduleNames(count = LAYER_COUNT): Module[] {
  const modules: Module[] = [];
  const add = (module: string, inFeatures: number, outFeatures: number) => {
    if (modules.length < count) modules.push({ module, kohya: `lora_${module.replace(/\./g, '_')}`, in: inFeatures, out: outFeatures });
  };
  const textEncoder = (component: string, layers: number, width: number) => {
    for (let i = 0; i < layers; i++) {
      for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) add(`${component}.text_model.encoder.layers.${i}.self_attn.${p}`, width, width);
      add(`${component}.text_model.encoder.layers.${i}.mlp.fc1`, width, width * 4);
      add(`${component}.text_model.encoder.layers.${i}.mlp.fc2`, width * 4, width);
    }
  };
  const transformer = (prefix: string, blocks: number, width: number) => {
    for (let b = 0; b < blocks; b++) {
      const base = `${prefix}.transformer_blocks.${b}`;
      for (const attn of ['attn1', 'attn2']) {
        for (const p of ['to_q', 'to_k', 'to_v', 'to_out.0']) add(`${base}.${attn}.${p}`, attn === 'attn2' && (p === 'to_k' || p === 'to_v') ? 2048 : width, width);
      }
      add(`${base}.ff.net.0.proj`, width, width * 8);
      add(`${base}.ff.net.2`, width * 4, width);
    }
  };
  textEncoder('text_encoder', 12, 768);
  textEncoder('text_encoder_2', 32, 1280);
  for (const [block, width, depth] of [[1, 640, 2], [2, 1280, 10]] as const) {
    for (const a of [0, 1]) transformer(`unet.down_blocks.${block}.attentions.${a}`, depth, width);
  }
  transformer('unet.mid_block.attentions.0', 10, 1280);
  for (const [block, width, depth] of [[0, 1280, 10], [1, 640, 4]] as const) {
    for (const a of [0, 1, 2]) transformer(`unet.up_blocks.${block}.attentions.${a}`, depth, width);
  }
  if (modules.length < count) throw new Error(`the generator makes only ${modules.length} modules`);
  return modules;
}

export const MODULES = moduleNames();

export function loraTensors(): TensorSummary[] {
  const tensors: TensorSummary[] = [];
  let offset = 0;
  const push = (name: string, dtype: TensorSummary['dtype'], shape: number[], bytesPerElement: number) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * bytesPerElement;
    tensors.push({ name, dtype, shape, dataOffsets: [offset, offset + bytes] });
    offset += bytes;
  };
  MODULES.forEach((m, i) => {
    const rank = i % 7 === 0 ? 32 : 16;
    push(`${m.kohya}.alpha`, 'F32', [], 4);
    push(`${m.kohya}.lora_down.weight`, i % 3 === 0 ? 'BF16' : 'F16', [rank, m.in], 2);
    push(`${m.kohya}.lora_up.weight`, i % 3 === 0 ? 'BF16' : 'F16', [m.out, rank], 2);
  });
  return tensors;
}

export const TENSORS = loraTensors();

const TAGS = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`tag_${i}`, 400 - i]));

export const METADATA: Readonly<Record<string, string>> = {
  ss_network_module: 'networks.lora',
  ss_network_dim: '16',
  ss_network_alpha: '8',
  ss_base_model_version: 'sdxl_base_v1-0',
  ss_learning_rate: '0.0001',
  ss_dataset_dirs: JSON.stringify({ '10_subject': { n_repeats: 10, img_count: 24 } }),
  ss_tag_frequency: JSON.stringify({ '10_subject': TAGS }),
  modelspec_title: 'subject-lora',
  // JSON holding JSON in a string: expanded twice.
  ss_datasets: JSON.stringify([{ subsets: JSON.stringify([{ image_dir: 'subject', num_repeats: 10 }]) }]),
};

export function fileView(): FileView {
  const bytes = TENSORS[TENSORS.length - 1].dataOffsets[1] + 8 + 250_000;
  return {
    summary: { file: '/workspace/loras/subject_style_ziplora.safetensors', bytes, headerBytes: 250_000, metadata: METADATA, tensors: TENSORS },
    // The header's totals as the host computes them (the webview only shows them).
    parameters: parameterCount(TENSORS),
    dtypes: dtypeBreakdown(TENSORS),
    kind: 'LoRA, kohya (SDXL)',
    lora: {
      format: 'kohya',
      scheme: 'kohya (lora_unet_ / lora_te1_ / lora_te2_)',
      baseModel: { family: 'sdxl', label: 'Stable Diffusion XL', evidence: ['a second text encoder (text_encoder_2 / lora_te2_)', 'UNet blocks with 10 transformer blocks (down_blocks.2)'] },
      ranks: [16, 32],
      alphas: [8],
      scales: [0.5, 0.25],
      scaleSources: ['alpha 8 / rank 16', 'alpha 8 / rank 32'],
      extraTensors: [],
      problems: [{ module: MODULES[17].module, problem: 'tensor "lora_up" holds NaN or infinite values' }],
    },
    ziplora: zipLoraView(),
  };
}

export function loraLayers(): LoraLayerSummary[] {
  const random = seededRandom(7);
  return MODULES.map((m, i) => {
    const rank = i % 7 === 0 ? 32 : 16;
    const norm = i === 17 ? null : 0.2 + random() * (m.module.startsWith('unet.up_blocks.0') ? 2.5 : 1);
    const singularValues = Array.from({ length: rank }, (_, k) => (norm ?? 1) * Math.exp(-k / 4));
    return {
      module: m.module,
      kind: 'linear' as const,
      in: m.in,
      out: m.out,
      rank,
      alpha: 8,
      scale: 8 / rank,
      norm,
      effectiveRank: norm === null ? null : 2 + random() * (rank - 4),
      rankFor90PercentEnergy: norm === null ? null : Math.round(rank / 2),
      singularValues: norm === null ? [] : singularValues,
      tensors: { down: `${m.kohya}.lora_down.weight`, up: `${m.kohya}.lora_up.weight`, alpha: `${m.kohya}.alpha` },
    };
  });
}

/** The two-input merge of the 1,000 modules: reports, and the coefficients the host would answer with. */
let twoWay: BuiltSidecar | undefined;
export function twoWaySidecar(): BuiltSidecar {
  twoWay ??= buildSidecar({ inputs: ['subject.safetensors', 'style.safetensors'], modules: MODULES.map((m) => ({ module: m.module, columns: m.in })), seed: 11, lambda: 0.01 });
  return twoWay;
}

/** The report as the view reads a format-1 sidecar: inputs 0 and 1, the old recipe, the zipped shares. */
export function zipLoraView(): ZipLoraView {
  const built = twoWaySidecar();
  const old = formatOneReport(built);
  return {
    sidecar: '/workspace/loras/subject_style_ziplora.ziplora.safetensors',
    mergedFile: '/workspace/loras/subject_style_ziplora.safetensors',
    format: 1,
    inputs: built.inputs,
    recipe: { method: 'adam', steps: 100, lambda: 0.01, lr: 0.01, columns: 'input', backend: 'wasm', device: 'cpu', version: '0.1.0' },
    layers: built.layers,
    shares: Object.fromEntries(old.map((o) => [o.module as string, { zipped: o.zipped as number, bothOn: o.bothOn as number, bothOff: o.bothOff as number }])),
  };
}

/** The host's answer for a layer's coefficients: the sidecar's m_c and m_s (inputs 0 and 1). */
export function layerCoefficients(module: string): Extract<HostToWebview, { type: 'layerCoefficients' }> {
  const m = twoWaySidecar().coefficients.get(module);
  if (!m) throw new Error(`no coefficients for ${module}`);
  return { type: 'layerCoefficients', module, inputs: [0, 1], m: m.map((values) => Array.from(values)) };
}

export function tensorStats(name: string): Extract<HostToWebview, { type: 'tensorStats' }> {
  const counts = Array.from({ length: 64 }, (_, i) => Math.round(100_000 * Math.exp(-(((i - 31.5) / 9) ** 2))));
  const stats: TensorStats = {
    count: 20480,
    finiteCount: 20478,
    min: -0.0625,
    max: 0.0625,
    mean: 0.00012,
    std: 0.0191,
    absMax: 0.0625,
    l2Norm: 2.734,
    zeros: 12,
    nans: 2,
    infs: 0,
    histogram: { min: -0.0625, max: 0.0625, counts },
  };
  return { type: 'tensorStats', name, stats };
}
