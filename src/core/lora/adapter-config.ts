/**
 * The `adapter_config.json` that PEFT and MLX write beside their weights: the only place their scale is
 * recorded (the safetensors file has no alpha). Found beside the file as `adapter_config.json`, or with the
 * same prefix as the weights file (`X__adapter_model.safetensors` → `X__adapter_config.json`).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SafetensorsError } from '../safetensors/errors';

export interface AdapterConfig {
  /** The sidecar file. */
  readonly source: string;
  /** The base model it names (`base_model_name_or_path` for PEFT, `model` for MLX), as written. */
  readonly baseModelName?: string;
  /**
   * The scale of a layer, given its module path inside the model (PEFT's names, without `base_model.model.`);
   * absent when the config says nothing about scale.
   */
  readonly scaleOf?: (modulePath: string) => { scale: number; alpha?: number; rank?: number };
}

export function sidecarCandidates(weightsFile: string): string[] {
  const folder = path.dirname(weightsFile);
  const base = path.basename(weightsFile);
  const candidates: string[] = [];
  const prefixed = base.replace(/(adapter_model|adapters)\.safetensors$/, 'adapter_config.json');
  if (prefixed !== base) candidates.push(path.join(folder, prefixed));
  candidates.push(path.join(folder, 'adapter_config.json'));
  return [...new Set(candidates)];
}

/** PEFT matches pattern keys against the end of a module path, at a `.` boundary (peft.utils.other.get_pattern_key). */
function patternValue(patterns: Record<string, unknown> | undefined, modulePath: string): number | undefined {
  if (!patterns) return undefined;
  for (const [key, value] of Object.entries(patterns)) {
    if (typeof value !== 'number') continue;
    let pattern: RegExp;
    try {
      pattern = new RegExp(`^(.*\\.)?(${key})$`);
    } catch {
      continue; // a key that is no regular expression cannot match
    }
    if (pattern.test(modulePath)) return value;
  }
  return undefined;
}

function asPatterns(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** MLX-LM's LoRALinear default scale, used when an MLX config names no scale. */
const MLX_DEFAULT_SCALE = 20;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Reads what matters from a parsed PEFT or MLX adapter config. */
export function adapterConfigFrom(config: unknown, source: string): AdapterConfig {
  if (!config || typeof config !== 'object' || Array.isArray(config)) return { source };
  const c = config as Record<string, unknown>;
  const mlx = asPatterns(c.lora_parameters);
  if (mlx) {
    const scale = positive(mlx.scale) ?? MLX_DEFAULT_SCALE;
    const rank = positive(mlx.rank);
    return { source, baseModelName: text(c.model), scaleOf: () => ({ scale, rank }) };
  }
  const baseModelName = text(c.base_model_name_or_path);
  const alpha = positive(c.lora_alpha);
  const rank = positive(c.r);
  if (alpha === undefined || rank === undefined) return { source, baseModelName };
  const alphaPattern = asPatterns(c.alpha_pattern);
  const rankPattern = asPatterns(c.rank_pattern);
  const rsLora = c.use_rslora === true;
  return {
    source,
    baseModelName,
    scaleOf(modulePath) {
      const a = patternValue(alphaPattern, modulePath) ?? alpha;
      const r = patternValue(rankPattern, modulePath) ?? rank;
      // peft LoraLayer.update_layer: scaling = alpha / r, or alpha / sqrt(r) with use_rslora.
      return { scale: rsLora ? a / Math.sqrt(r) : a / r, alpha: a, rank: r };
    },
  };
}

/** The first adapter config that exists beside `weightsFile`; one that is not JSON is an error naming it. */
export async function findAdapterConfig(weightsFile: string): Promise<AdapterConfig | undefined> {
  for (const candidate of sidecarCandidates(weightsFile)) {
    let text: string;
    try {
      text = await fs.readFile(candidate, 'utf8');
    } catch {
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new SafetensorsError(candidate, `is not valid JSON (${(error as Error).message})`, 'fix or remove the adapter config beside the LoRA');
    }
    return adapterConfigFrom(parsed, candidate);
  }
  return undefined;
}
