/**
 * Recognises what adapter a safetensors file holds and normalises its B·A layers (see layer.ts). Works from the
 * header, plus the tiny alpha tensors and the adapter config beside the file; factor values are read later.
 */
import { basename } from 'node:path';
import { isDecodable, isFloatDType } from '../safetensors/dtypes';
import { TensorInfo } from '../safetensors/header';
import { SafetensorsFile } from '../safetensors/reader';
import { AdapterConfig, findAdapterConfig } from './adapter-config';
import { BaseModelGuess, guessBaseModel } from './base-model';
import { BaseModelFamily } from './families';
import { compareModuleNames, LayerProblem, LoraLayer } from './layer';
import { canonicalInFamily, componentOfBarePaths, diffusersToCanonical, kohyaToCanonical, pairingKey, withoutWrapperPrefix } from './naming';
import { describeNonLora } from './not-a-lora';
import { adapterName, includesBiases, LoraScheme, OtherAdapterKind, roleOfTensor, schemeName } from './tensor-names';

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
  /** What the file looks like instead, in words ("LyCORIS LoKr (…)", "a VAE"). */
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
  // An adapter whose biases are part of what makes it one: they are not a second kind of adapter.
  if ([...counts.keys()].some(includesBiases)) counts.delete('lora-bias');
  const adapters = [...counts.keys()];
  const modules = [...counts.values()].reduce((n, s) => n + s.size, 0);
  let looksLike = adapters.map(adapterName).join(' + ');
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

/** The file's tensors sorted by role: factor groups by scheme and module, alphas, other adapters' modules, the rest. */
interface SortedTensors {
  readonly groups: Map<string, FactorGroup>;
  readonly alphas: Map<string, TensorInfo>;
  readonly others: Map<OtherAdapterKind, Set<string>>;
  readonly unrelated: string[];
}

function sortTensors(tensors: readonly TensorInfo[]): SortedTensors {
  const sorted: SortedTensors = { groups: new Map(), alphas: new Map(), others: new Map(), unrelated: [] };
  for (let i = 0; i < tensors.length; i++) {
    const tensor = tensors[i];
    const role = roleOfTensor(tensor.name);
    if (role.kind === 'factor') {
      const id = `${role.scheme}\u0000${role.module}`;
      const group = sorted.groups.get(id) ?? { scheme: role.scheme, module: role.module };
      group[role.part] = tensor;
      sorted.groups.set(id, group);
    } else if (role.kind === 'alpha') {
      sorted.alphas.set(role.module, tensor);
    } else if (role.kind === 'other-adapter') {
      const modules = sorted.others.get(role.adapter) ?? new Set<string>();
      modules.add(role.module);
      sorted.others.set(role.adapter, modules);
    } else {
      sorted.unrelated.push(tensor.name);
    }
  }
  return sorted;
}

/** What every layer of a file is read with: where bare names belong, the adapter config, and the alphas (marked when used). */
interface LayerContext {
  readonly file: SafetensorsFile;
  readonly bareComponent: ReturnType<typeof componentOfBarePaths>;
  readonly config: AdapterConfig | undefined;
  readonly alphas: ReadonlyMap<string, TensorInfo>;
  readonly usedAlphas: Set<string>;
}

type Scale = Pick<LoraLayer, 'alpha' | 'scale' | 'scaleSource' | 'alphaTensor'>;

/** A layer's scale: its alpha tensor's, the adapter config's, or 1; or a problem in words. */
async function scaleOfLayer(group: FactorGroup, module: string, rank: number, context: LayerContext): Promise<Scale | string> {
  const alphaTensor = context.alphas.get(group.module);
  if (alphaTensor) {
    context.usedAlphas.add(group.module);
    const value = await readAlpha(context.file, alphaTensor);
    if (typeof value === 'string') return value;
    return { alpha: value, scale: value / rank, scaleSource: `alpha ${value} / rank ${rank}`, alphaTensor };
  }
  if (group.scheme !== 'kohya' && context.config?.scaleOf) {
    const rule = context.config.scaleOf(module.replace(/^(unet|text_encoder|text_encoder_2|transformer)\./, ''));
    const scaleSource = rule.alpha !== undefined ? `adapter config: lora_alpha ${rule.alpha} / r ${rule.rank}` : `adapter config: scale ${rule.scale}`;
    return { alpha: rule.alpha ?? null, scale: rule.scale, scaleSource, alphaTensor };
  }
  const scaleSource = group.scheme === 'kohya' ? 'no alpha: scale 1' : 'no alpha and no adapter_config.json beside the file: scale 1';
  return { alpha: null, scale: 1, scaleSource, alphaTensor };
}

/** One factor group as a normalised layer (module as the file spells it kept aside), or a problem in words. */
async function layerOfGroup(group: FactorGroup, context: LayerContext): Promise<LoraLayer | string> {
  const named = group.scheme === 'mlx' ? { down: 'lora_a', up: 'lora_b' } : { down: 'a down factor', up: 'an up factor' };
  if (!group.down || !group.up) {
    const has = group.down ? named.down : named.up;
    const lacks = group.down ? named.up : named.down;
    return `has ${has} but no ${lacks.replace(/^an? /, '')}`;
  }
  const complete = group as Required<FactorGroup>;
  const badDType = [complete.down, complete.up].find((t) => !isFloatDType(t.dtype) || !isDecodable(t.dtype));
  if (badDType) return `tensor "${badDType.name}" has dtype ${badDType.dtype}; LoRA factors must be F16, BF16 or F32`;
  const geometry = layerGeometry(complete);
  if (typeof geometry === 'string') return geometry;
  const module = group.scheme === 'kohya' ? kohyaToCanonical(group.module) : diffusersToCanonical(group.module, context.bareComponent);
  if (module === undefined) return 'has an unknown kohya prefix (expected lora_unet_, lora_te_, lora_te1_, lora_te2_, lora_te3_ or lora_transformer_)';
  const scale = await scaleOfLayer(group, module, geometry.rank, context);
  if (typeof scale === 'string') return scale;
  return { module, key: '', ...geometry, ...scale, scheme: group.scheme, down: complete.down, up: complete.up, transposed: geometry.transposed };
}

/** The scheme most groups use, and every scheme's name for the format. */
function schemesOf(groups: Iterable<FactorGroup>): { scheme: LoraScheme; formatName: string } {
  const counts = new Map<LoraScheme, number>();
  for (const g of groups) counts.set(g.scheme, (counts.get(g.scheme) ?? 0) + 1);
  return { scheme: [...counts].sort((a, b) => b[1] - a[1])[0][0], formatName: [...counts.keys()].map(schemeName).join(' + ') };
}

/** Recognises and normalises the adapter in an open file. */
export async function describeAdapter(file: SafetensorsFile): Promise<AdapterDescription> {
  const { groups, alphas, others, unrelated } = sortTensors(file.tensors);
  if (others.size > 0) return otherAdapterDescription(others, groups.size);
  if (groups.size === 0) {
    return { kind: 'not-lora', looksLike: describeNonLora(file.tensors), adapters: [], adapterModules: 0, plainLoraModules: 0 };
  }
  const plainNames = [...groups.values()].filter((g) => g.scheme !== 'kohya');
  const needsConfig = plainNames.some((g) => !alphas.has(g.module));
  const config = needsConfig ? await findAdapterConfig(file.path) : undefined;
  const context: LayerContext = { file, bareComponent: componentOfBarePaths(plainNames.map((g) => withoutWrapperPrefix(g.module))), config, alphas, usedAlphas: new Set() };

  const layers: LoraLayer[] = [];
  /** Each layer's module as the file spells it, for messages. */
  const fileModules = new Map<LoraLayer, string>();
  const problems: LayerProblem[] = [];
  for (const group of groups.values()) {
    const layer = await layerOfGroup(group, context);
    if (typeof layer === 'string') {
      problems.push({ module: group.module, problem: layer });
      continue;
    }
    layers.push(layer);
    fileModules.set(layer, group.module);
  }
  // Pairing keys depend on the family (its renames), which is judged from all the layers.
  const baseModel = guessBaseModel(layers, file.metadata, config?.baseModelName, basename(file.path));
  const keyed = withFamilyKeys(layers, fileModules, baseModel.family, problems);
  for (const [module, tensor] of alphas) {
    if (!context.usedAlphas.has(module) && ![...groups.values()].some((g) => g.module === module)) unrelated.push(tensor.name);
  }
  keyed.sort((a, b) => compareModuleNames(a.module, b.module));
  const adapterConfig = config?.scaleOf ? config.source : undefined;
  return { kind: 'lora', ...schemesOf(groups.values()), layers: keyed, problems, extraTensors: unrelated, baseModel, adapterConfig };
}
