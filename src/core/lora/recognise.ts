/**
 * Recognises what adapter a safetensors file holds and normalises its B·A layers (see layer.ts). Works from the
 * header, plus the tiny alpha tensors and the adapter config beside the file; factor values are read later.
 */
import { isDecodable, isFloatDType } from '../safetensors/dtypes';
import { TensorInfo } from '../safetensors/header';
import { SafetensorsFile } from '../safetensors/reader';
import { AdapterConfig, findAdapterConfig } from './adapter-config';
import { BaseModelGuess, guessBaseModel } from './base-model';
import { BaseModelFamily } from './families';
import { compareModuleNames, LayerProblem, LoraLayer } from './layer';
import { canonicalInFamily, componentOfBarePaths, diffusersToCanonical, kohyaToCanonical, pairingKey, withoutWrapperPrefix } from './naming';
import { describeNonLora } from './not-a-lora';
import { LoraScheme, OTHER_ADAPTER_NAMES, OtherAdapterKind, roleOfTensor } from './tensor-names';

export const SCHEME_NAMES: Record<LoraScheme, string> = {
  kohya: 'kohya (lora_down / lora_up / alpha)',
  peft: 'diffusers/PEFT (lora_A / lora_B)',
  'kohya-dotted': 'dotted module names with lora_down / lora_up / alpha',
  xlabs: 'XLabs Flux (processor.qkv_lora1 / proj_lora2 down / up)',
  'diffusers-old': 'old diffusers (lora.down / lora.up)',
  'diffusers-attn-processor': 'old diffusers attention processors (processor.to_q_lora.down)',
  mlx: 'MLX (lora_a in×r / lora_b r×out)',
};

export interface LoraDescription {
  readonly kind: 'lora';
  /** The naming scheme of most layers. */
  readonly scheme: LoraScheme;
  readonly formatName: string;
  /** Normalised layers, sorted by canonical name (numbers compared as numbers). */
  readonly layers: readonly LoraLayer[];
  /** Layers that could not be normalised, each named. A merge refuses a file that has any. */
  readonly problems: readonly LayerProblem[];
  /** Tensors that belong to no LoRA layer (PEFT modules_to_save, bundled embeddings…): a merge copies them. */
  readonly extraTensors: readonly string[];
  readonly baseModel: BaseModelGuess;
  /** The adapter config used for the scale, if any. */
  readonly adapterConfig?: string;
}

export interface NotLoraDescription {
  readonly kind: 'not-lora';
  /** What the file looks like instead, in words ("LyCORIS LoKr (…)", "a full Stable Diffusion checkpoint …"). */
  readonly looksLike: string;
  /** The non-B·A adapters found, if it is an adapter at all. */
  readonly adapters: readonly OtherAdapterKind[];
  /** Modules of those adapters (a count for the summary). */
  readonly adapterModules: number;
  /** Plain B·A layers found beside them (a LyCORIS file may mix both). */
  readonly plainLoraModules: number;
}

export type AdapterDescription = LoraDescription | NotLoraDescription;

interface FactorGroup {
  scheme: LoraScheme;
  module: string;
  down?: TensorInfo;
  up?: TensorInfo;
}

function describeMatrix(t: TensorInfo): string {
  return `[${t.shape.join(', ')}]`;
}

/** Shapes → (kind, in, out, rank, kernel), or a problem in words. */
function layerGeometry(group: Required<FactorGroup>): Omit<LoraLayer, 'module' | 'key' | 'alpha' | 'scale' | 'scaleSource' | 'scheme' | 'down' | 'up' | 'alphaTensor'> | string {
  const { down, up } = group;
  if (group.scheme === 'mlx') {
    if (down.shape.length !== 2 || up.shape.length !== 2) return `MLX factors must be 2-D (lora_a ${describeMatrix(down)}, lora_b ${describeMatrix(up)})`;
    const [inFeatures, rank] = down.shape;
    if (up.shape[0] !== rank) return `ranks differ: lora_a ${describeMatrix(down)} has rank ${rank}, lora_b ${describeMatrix(up)} has ${up.shape[0]}`;
    return { kind: 'linear', kernel: [1, 1], inFeatures, outFeatures: up.shape[1], columns: inFeatures, rank, transposed: true };
  }
  const downOk = down.shape.length === 2 || down.shape.length === 4;
  const upOk = up.shape.length === 2 || (up.shape.length === 4 && up.shape[2] === 1 && up.shape[3] === 1);
  if (!downOk || !upOk) return `unexpected factor shapes: down ${describeMatrix(down)}, up ${describeMatrix(up)} (want down r×in or r×in×kh×kw, up out×r or out×r×1×1)`;
  const rank = down.shape[0];
  if (up.shape[1] !== rank) return `ranks differ: down ${describeMatrix(down)} has rank ${rank}, up ${describeMatrix(up)} has ${up.shape[1]}`;
  const conv = down.shape.length === 4 || up.shape.length === 4;
  const kernel: [number, number] = down.shape.length === 4 ? [down.shape[2], down.shape[3]] : [1, 1];
  const inFeatures = down.shape[1];
  return { kind: conv ? 'conv' : 'linear', kernel, inFeatures, outFeatures: up.shape[0], columns: inFeatures * kernel[0] * kernel[1], rank, transposed: false };
}

async function readAlpha(file: SafetensorsFile, tensor: TensorInfo): Promise<number | string> {
  if (tensor.shape.reduce((a, b) => a * b, 1) !== 1) return `alpha tensor has shape ${describeMatrix(tensor)}, expected a single value`;
  if (!isDecodable(tensor.dtype)) return `alpha tensor has dtype ${tensor.dtype}, which cannot be decoded`;
  const [value] = await file.readF32(tensor);
  return Number.isFinite(value) ? value : `alpha is ${value}`;
}

function otherAdapterDescription(counts: Map<OtherAdapterKind, Set<string>>, plain: number): NotLoraDescription {
  // A Flux Control LoRA's biases are part of what makes it one; they are not a second kind of adapter.
  if (counts.has('flux-control')) counts.delete('lora-bias');
  const adapters = [...counts.keys()];
  const modules = [...counts.values()].reduce((n, s) => n + s.size, 0);
  let looksLike = adapters.map((a) => OTHER_ADAPTER_NAMES[a]).join(' + ');
  if (plain > 0) looksLike += `, beside ${plain} plain LoRA layer${plain === 1 ? '' : 's'}`;
  return { kind: 'not-lora', looksLike, adapters, adapterModules: modules, plainLoraModules: plain };
}

/**
 * The layers with their family's canonical names and pairing keys; a layer that names the same module as an
 * earlier one becomes a problem (two namings of one module in one file).
 */
function withFamilyKeys(layers: readonly LoraLayer[], fileModules: ReadonlyMap<LoraLayer, string>, family: BaseModelFamily, problems: LayerProblem[]): LoraLayer[] {
  const byKey = new Map<string, string>();
  const keyed: LoraLayer[] = [];
  for (const layer of layers) {
    const module = canonicalInFamily(layer.module, family);
    const key = pairingKey(module, family, layer);
    const clash = byKey.get(key);
    const stored = fileModules.get(layer) ?? layer.module;
    if (clash !== undefined) {
      problems.push({ module: stored, problem: `names the same layer (${module}) as "${clash}"` });
      continue;
    }
    byKey.set(key, stored);
    keyed.push({ ...layer, module, key });
  }
  return keyed;
}

/** Recognises and normalises the adapter in an open file. */
export async function describeAdapter(file: SafetensorsFile): Promise<AdapterDescription> {
  const groups = new Map<string, FactorGroup>();
  const alphas = new Map<string, TensorInfo>();
  const others = new Map<OtherAdapterKind, Set<string>>();
  const unrelated: string[] = [];
  for (const tensor of file.tensors) {
    const role = roleOfTensor(tensor.name);
    if (role.kind === 'factor') {
      const id = `${role.scheme}\u0000${role.module}`;
      const group = groups.get(id) ?? { scheme: role.scheme, module: role.module };
      group[role.part] = tensor;
      groups.set(id, group);
    } else if (role.kind === 'alpha') {
      alphas.set(role.module, tensor);
    } else if (role.kind === 'other-adapter') {
      const modules = others.get(role.adapter) ?? new Set<string>();
      modules.add(role.module);
      others.set(role.adapter, modules);
    } else {
      unrelated.push(tensor.name);
    }
  }
  if (others.size > 0) return otherAdapterDescription(others, groups.size);
  if (groups.size === 0) {
    return { kind: 'not-lora', looksLike: describeNonLora(file.tensors), adapters: [], adapterModules: 0, plainLoraModules: 0 };
  }

  const schemeCounts = new Map<LoraScheme, number>();
  for (const g of groups.values()) schemeCounts.set(g.scheme, (schemeCounts.get(g.scheme) ?? 0) + 1);
  const scheme = [...schemeCounts].sort((a, b) => b[1] - a[1])[0][0];
  const bareComponent = componentOfBarePaths(
    [...groups.values()].filter((g) => g.scheme !== 'kohya').map((g) => withoutWrapperPrefix(g.module)),
  );
  const needsConfig = [...groups.values()].some((g) => g.scheme !== 'kohya' && !alphas.has(g.module));
  const config: AdapterConfig | undefined = needsConfig ? await findAdapterConfig(file.path) : undefined;

  const layers: LoraLayer[] = [];
  /** Each layer's module as the file spells it, for messages. */
  const fileModules = new Map<LoraLayer, string>();
  const problems: LayerProblem[] = [];
  const usedAlphas = new Set<string>();
  for (const group of groups.values()) {
    const named = group.scheme === 'mlx' ? { down: 'lora_a', up: 'lora_b' } : { down: 'a down factor', up: 'an up factor' };
    if (!group.down || !group.up) {
      const has = group.down ? named.down : named.up;
      const lacks = group.down ? named.up : named.down;
      problems.push({ module: group.module, problem: `has ${has} but no ${lacks.replace(/^an? /, '')}` });
      continue;
    }
    const complete = group as Required<FactorGroup>;
    const badDType = [complete.down, complete.up].find((t) => !isFloatDType(t.dtype) || !isDecodable(t.dtype));
    if (badDType) {
      problems.push({ module: group.module, problem: `tensor "${badDType.name}" has dtype ${badDType.dtype}; LoRA factors must be F16, BF16 or F32` });
      continue;
    }
    const geometry = layerGeometry(complete);
    if (typeof geometry === 'string') {
      problems.push({ module: group.module, problem: geometry });
      continue;
    }
    const module = group.scheme === 'kohya' ? kohyaToCanonical(group.module) : diffusersToCanonical(group.module, bareComponent);
    if (module === undefined) {
      problems.push({ module: group.module, problem: 'has an unknown kohya prefix (expected lora_unet_, lora_te_, lora_te1_, lora_te2_, lora_te3_ or lora_transformer_)' });
      continue;
    }
    let alpha: number | null = null;
    let scale = 1;
    let scaleSource: string;
    const alphaTensor = alphas.get(group.module);
    if (alphaTensor) {
      usedAlphas.add(group.module);
      const value = await readAlpha(file, alphaTensor);
      if (typeof value === 'string') {
        problems.push({ module: group.module, problem: value });
        continue;
      }
      alpha = value;
      scale = value / geometry.rank;
      scaleSource = `alpha ${value} / rank ${geometry.rank}`;
    } else if (group.scheme !== 'kohya' && config?.scaleOf) {
      const rule = config.scaleOf(module.replace(/^(unet|text_encoder|text_encoder_2|transformer)\./, ''));
      scale = rule.scale;
      alpha = rule.alpha ?? null;
      scaleSource = rule.alpha !== undefined ? `adapter config: lora_alpha ${rule.alpha} / r ${rule.rank}` : `adapter config: scale ${rule.scale}`;
    } else {
      scaleSource = group.scheme === 'kohya' ? 'no alpha: scale 1' : 'no alpha and no adapter_config.json beside the file: scale 1';
    }
    const layer: LoraLayer = { module, key: '', ...geometry, alpha, scale, scaleSource, scheme: group.scheme, down: complete.down, up: complete.up, alphaTensor, transposed: geometry.transposed };
    layers.push(layer);
    fileModules.set(layer, group.module);
  }
  // Pairing keys depend on the family (its renames), which is judged from all the layers.
  const baseModel = guessBaseModel(layers, file.metadata, config?.baseModelName);
  const keyed = withFamilyKeys(layers, fileModules, baseModel.family, problems);
  for (const [module, tensor] of alphas) {
    if (!usedAlphas.has(module) && ![...groups.values()].some((g) => g.module === module)) unrelated.push(tensor.name);
  }
  keyed.sort((a, b) => compareModuleNames(a.module, b.module));
  return {
    kind: 'lora',
    scheme,
    formatName: [...schemeCounts.keys()].map((s) => SCHEME_NAMES[s]).join(' + '),
    layers: keyed,
    problems,
    extraTensors: unrelated,
    baseModel,
    adapterConfig: config?.scaleOf ? config.source : undefined,
  };
}
