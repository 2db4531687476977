/**
 * A file's overview from headers only (cheap enough for the extension host): the checkpoint summary, what the
 * file is, the LoRA header facts, and the ZipLoRA report when a sidecar is there. The editor and the HTML
 * report show it as it is.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describeAdapter } from '../lora/recognise';
import { loraHeaderSummary, LoraSummary } from '../lora/summary';
import { adviceFor } from '../lora/tensor-names';
import { TwoWayLayerReport as LayerReport } from '../merge/two-way-bridge';
import { isSidecar, SIDECAR_SUFFIX, sidecarPathFor } from '../merge/request';
import { openCheckpoint } from '../safetensors/checkpoint';
import { SafetensorsError } from '../safetensors/errors';
import { withSafetensors } from '../safetensors/reader';
import { CheckpointSummary, dtypeBreakdown, DTypeBreakdown, parameterCount, summarizeCheckpoint } from '../safetensors/summary';

/** Everything the editor shows without reading tensor data. */
export interface FileOverview {
  readonly summary: CheckpointSummary;
  readonly parameters: number;
  readonly dtypes: readonly DTypeBreakdown[];
  /** What the file is, in words ("LoRA, kohya (SDXL)", "a full SD checkpoint", …). */
  readonly kind: string;
  /** For an adapter a merge refuses (LoKr, DoRA, Flux Control…): what a user can do instead. */
  readonly advice?: string;
  /** Present when the file is a B·A LoRA; per-layer measures arrive later in `loraLayers`. */
  readonly lora: Omit<LoraSummary, 'layers'> | null;
  /** The ZipLoRA sidecar's report, when this file is a sidecar or a merged LoRA with its sidecar beside it. */
  readonly ziplora: SidecarReport | null;
}

export interface SidecarReport {
  /** The sidecar file the report came from. */
  readonly sidecar: string;
  readonly mergedFile: string;
  /** `ziplora_recipe` of the sidecar, parsed (method, steps, lambda, lr, columns, backend, device, version). */
  readonly recipe: Readonly<Record<string, unknown>>;
  readonly layers: readonly LayerReport[];
}



/** The sidecar that belongs with a file: itself, or the one beside a merged LoRA; undefined if none. */
export function sidecarFor(file: string): string | undefined {
  if (isSidecar(file)) return file;
  const beside = sidecarPathFor(file);
  return existsSync(beside) ? beside : undefined;
}

function parseJson(file: string, key: string, text: string | undefined): unknown {
  if (text === undefined) throw new SafetensorsError(file, `has no ${key} in its metadata`, 'it is not a ZipLoRA sidecar, or was written by another tool');
  try {
    return JSON.parse(text);
  } catch {
    throw new SafetensorsError(file, `${key} in its metadata is not valid JSON`);
  }
}

export async function readZipLoraView(sidecar: string): Promise<SidecarReport> {
  return withSafetensors(sidecar, async (file) => {
    const report = parseJson(sidecar, 'ziplora_report', file.metadata.ziplora_report);
    if (!Array.isArray(report)) throw new SafetensorsError(sidecar, 'ziplora_report is not a list of layers');
    const recipe = file.metadata.ziplora_recipe ? (parseJson(sidecar, 'ziplora_recipe', file.metadata.ziplora_recipe) as Record<string, unknown>) : {};
    const merged = file.metadata.ziplora_merged_file ?? path.basename(sidecar).replace(SIDECAR_SUFFIX, '.safetensors');
    return { sidecar, mergedFile: path.join(path.dirname(sidecar), merged), recipe, layers: report as LayerReport[] };
  });
}

/** The coefficients of one merged layer, from the sidecar (a few KB). */
export async function readLayerCoefficients(sidecar: string, module: string): Promise<{ mContent: number[]; mStyle: number[] }> {
  return withSafetensors(sidecar, async (file) => ({
    mContent: Array.from(await file.readF32(`${module}.m_content`)),
    mStyle: Array.from(await file.readF32(`${module}.m_style`)),
  }));
}

export async function buildFileView(file: string): Promise<FileOverview> {
  const checkpoint = await openCheckpoint(file);
  try {
    const summary = summarizeCheckpoint(checkpoint);
    const description = checkpoint.files.length === 1 ? await describeAdapter(checkpoint.files[0]) : undefined;
    const lora = description?.kind === 'lora' ? loraHeaderSummary(description) : null;
    const kind = description === undefined ? `sharded checkpoint (${checkpoint.files.length} files)` : description.kind === 'lora' ? `LoRA, ${description.formatName}` : description.looksLike;
    const sidecar = sidecarFor(file);
    return {
      summary,
      parameters: parameterCount(summary.tensors),
      dtypes: dtypeBreakdown(summary.tensors),
      kind: isSidecar(file) ? 'ZipLoRA sidecar (merger coefficients and per-layer report)' : kind,
      ...(description?.kind === 'not-lora' && description.adapters.length ? { advice: adviceFor(description.adapters) } : {}),
      lora: isSidecar(file) ? null : lora,
      ziplora: sidecar ? await readZipLoraView(sidecar) : null,
    };
  } finally {
    await checkpoint.close();
  }
}
