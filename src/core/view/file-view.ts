/**
 * A file's overview from headers only (cheap enough for the extension host): the checkpoint summary, what the
 * file is, the LoRA header facts, and the ZipLoRA report when a sidecar is there. The editor and the HTML
 * report show it as it is.
 */
import { existsSync } from 'node:fs';
import { describeAdapter } from '../lora/recognise';
import { loraHeaderSummary, LoraSummary } from '../lora/summary';
import { adviceFor } from '../lora/tensor-names';
import { isSidecar, sidecarPathFor } from '../merge/request';
import { openCheckpoint } from '../safetensors/checkpoint';
import { withSafetensors } from '../safetensors/reader';
import { readCoefficients, readSidecarReport, SidecarReport } from './sidecar-report';
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

export type { SidecarReport } from './sidecar-report';

/** The sidecar that belongs with a file: itself, or the one beside a merged LoRA; undefined if none. */
export function sidecarFor(file: string): string | undefined {
  if (isSidecar(file)) return file;
  const beside = sidecarPathFor(file);
  return existsSync(beside) ? beside : undefined;
}

/** The sidecar's report in the N-way shape, whichever format wrote it (sidecar-report.ts). */
export async function readZipLoraView(sidecar: string): Promise<SidecarReport> {
  return withSafetensors(sidecar, async (file) => readSidecarReport(file));
}

/** The coefficients of one merged layer, from the sidecar (a few KB): the inputs present and m_i of each. */
export async function readLayerCoefficients(sidecar: string, module: string): Promise<{ inputs: number[]; m: number[][] }> {
  return withSafetensors(sidecar, async (file) => {
    const { inputs, m } = await readCoefficients(file, module);
    return { inputs: [...inputs], m: m.map((values) => Array.from(values)) };
  });
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
