/**
 * Messages between the extension host and the safetensors editor's webview. The webview never reads files:
 * the host sends it data, and it asks the host for anything heavy (computed in the worker process).
 * Both sides import this module; the host validates every message from the webview with `isFromWebview`.
 */
import type { LoraSummary } from '../core/lora/summary';
import type { TensorStats } from '../core/stats/tensor-stats';
import type { FileOverview, SidecarReport } from '../core/view/file-view';

/** The core's data types the webview draws: it takes them from here, never from src/core (structure test). */
export type { LoraLayerSummary, LoraSummary } from '../core/lora/summary';
export type { LayerReport, PairOverlap } from '../core/merge/layer-report';
export type { LambdaPoint, SidecarInput } from '../core/view/sidecar-report';
export type { TensorSummary } from '../core/safetensors/summary';
export type { TensorStats } from '../core/stats/tensor-stats';
export type { ReportData } from '../core/view/report-data';

/**
 * In a standalone report (`ziplora report`) there is no host: the page carries a ReportData as JSON in the
 * element of this id, and the webview answers its own requests from it (webview/report-channel.ts).
 */
export const REPORT_DATA_ELEMENT_ID = 'ziplora-report-data';

/** The editor shows the core's header-only overview of a file, and a sidecar's report, as they are. */
export type FileView = FileOverview;
export type ZipLoraView = SidecarReport;

/**
 * Two to eight LoRAs compared layer by layer, without merging (the Compare command's panel): every pair (i < k,
 * in the order (0,1), (0,2) … (1,2) …) as the two-way comparison, and each pair's mean |cos| per block.
 */
export interface ComparisonView {
  /** In the order given: A, B, C … */
  readonly files: readonly ComparedFile[];
  readonly pairs: readonly PairComparisonView[];
  /** Blocks in network order: per pair (in `pairs` order) the mean over the block's layers of mean |cos|. */
  readonly blocks: readonly { readonly block: string; readonly meanAbsCosine: readonly (number | null)[] }[];
}

/** One pair of files compared: how their layers pair up, and per paired layer the column cosine and the norms. */
export interface PairComparisonView {
  /** 0-based indices into `files`. */
  readonly a: number;
  readonly b: number;
  readonly paired: number;
  readonly onlyInFirst: readonly string[];
  readonly onlyInSecond: readonly string[];
  readonly refused: readonly { readonly module: string; readonly reason: string }[];
  /** Paired layers: mean |cos| between the two LoRAs' columns and each side's ‖ΔW‖. */
  readonly layers: readonly { readonly module: string; readonly meanAbsCosine: number | null; readonly normFirst: number; readonly normSecond: number; readonly columnsCompared: number }[];
}

export interface ComparedFile {
  readonly file: string;
  readonly format: string;
  readonly baseModel: string;
  readonly layers: number;
}

export type HostToWebview =
  | { readonly type: 'file'; readonly view: FileView }
  | { readonly type: 'comparison'; readonly comparison: ComparisonView }
  | { readonly type: 'fileError'; readonly file: string; readonly message: string; readonly hint?: string }
  | { readonly type: 'loraLayers'; readonly layers: LoraSummary['layers'] }
  | { readonly type: 'tensorStats'; readonly name: string; readonly stats: TensorStats | null; readonly error?: string }
  /** One merged layer's coefficients: the inputs present in it (request indices) and m_i for each, in that order. */
  | { readonly type: 'layerCoefficients'; readonly module: string; readonly inputs: readonly number[]; readonly m: readonly (readonly number[])[]; readonly error?: string }
  | { readonly type: 'busy'; readonly what: string | null };

export type WebviewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'requestTensorStats'; readonly name: string }
  | { readonly type: 'requestLayerCoefficients'; readonly module: string }
  | { readonly type: 'revealFile'; readonly which: 'merged' | 'sidecar' };

const MAX_NAME_LENGTH = 4096;

/** Accepts only well-formed messages of the known kinds; anything else from the webview is ignored. */
export function isFromWebview(value: unknown): value is WebviewToHost {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  const shortString = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH;
  switch (m.type) {
    case 'ready':
      return true;
    case 'requestTensorStats':
      return shortString(m.name);
    case 'requestLayerCoefficients':
      return shortString(m.module);
    case 'revealFile':
      return m.which === 'merged' || m.which === 'sidecar';
    default:
      return false;
  }
}
