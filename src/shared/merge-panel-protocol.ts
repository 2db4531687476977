/**
 * Messages between the extension host and the merge panel's webview (webview/merge-panel-main.ts). The panel
 * edits a merge of 2 to 8 LoRAs — inputs and their weights, per-block weights and methods, λ, method, rank and
 * output — and asks the host to save it as a recipe or run it. The webview never reads files: the host picks
 * files, computes each pair's overlap per block in the worker, writes the recipe and runs the merge.
 * Both sides import this module; the host validates every message from the webview with `isFromMergePanel`.
 * The values' rules (weight ranges, λ, rank) are merge-options.ts' and block-rules.ts', applied by the host.
 */
import type { BlockRule } from '../core/merge/request';

export type PanelBlockMethod = NonNullable<BlockRule['method']>;

/** What the panel edits: everything else a merge needs comes from the `ziplora.*` settings. */
export interface MergePanelSettings {
  /** In order: input 1, input 2, … (for two inputs, the content and the style LoRA). */
  readonly inputs: readonly { readonly path: string; readonly weight: number }[];
  readonly method: 'ziplora' | 'direct';
  readonly lambda: number | 'auto';
  /** Output rank limit; null keeps the exact rank Σ r_i. */
  readonly rank: number | null;
  /** Share of ‖ΔW‖² each layer keeps (0 < E ≤ 1); null keeps the exact rank. */
  readonly rankEnergy: number | null;
  readonly output: string;
  /** Per-block weights (one per input) and methods the user set; blocks left at the default have no rule. */
  readonly blocks: readonly BlockRule[];
}

/** Bounds the panel enforces while editing; the host sends them so that each has one home (merge-options.ts). */
export interface MergePanelLimits {
  readonly minInputs: number;
  readonly maxInputs: number;
  readonly maxWeight: number;
  readonly blockMethods: readonly PanelBlockMethod[];
}

/** Each pair's mean |cos| between its inputs' columns, averaged over the layers of each block (the compare measure). */
export interface PanelOverlap {
  /** 0-based input indices, i < k, in the order (0,1), (0,2) … (1,2) …. */
  readonly pairs: readonly (readonly [number, number])[];
  /** Blocks in network order; per pair the block's mean of mean |cos| over its paired layers, null when none was measured. */
  readonly blocks: readonly { readonly block: string; readonly meanAbsCosine: readonly (number | null)[] }[];
}

export type OverlapState =
  | { readonly status: 'computing' }
  | { readonly status: 'done'; readonly overlap: PanelOverlap }
  | { readonly status: 'error'; readonly message: string };

export type MergePanelToWebview =
  | { readonly type: 'panelState'; readonly settings: MergePanelSettings; readonly limits: MergePanelLimits }
  /** The overlap of the inputs in the latest panelState (sent again whenever the inputs change). */
  | { readonly type: 'overlap'; readonly inputs: readonly string[]; readonly overlap: OverlapState }
  | { readonly type: 'running'; readonly running: boolean }
  /** The outcome of the last action (saved, merged, refused), shown under the buttons. */
  | { readonly type: 'outcome'; readonly kind: 'info' | 'error'; readonly lines: readonly string[] };

export type MergePanelToHost =
  | { readonly type: 'ready' }
  /** Any edit: the whole settings, so that the host's copy (and the overlap's inputs) follow the page. */
  | { readonly type: 'changed'; readonly settings: MergePanelSettings }
  /** Asks the host for a file dialog; the chosen files are appended (up to the maximum). */
  | { readonly type: 'addInputs' }
  | { readonly type: 'browseOutput' }
  | { readonly type: 'saveRecipe'; readonly settings: MergePanelSettings }
  | { readonly type: 'merge'; readonly settings: MergePanelSettings }
  | { readonly type: 'cancelMerge' };

const MAX_PATH_LENGTH = 4096;
const MAX_LIST = 4096;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isText = (v: unknown, max = MAX_PATH_LENGTH): v is string => typeof v === 'string' && v.length <= max;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isList = (v: unknown): v is unknown[] => Array.isArray(v) && v.length <= MAX_LIST;

/** The shape of settings from the page (types and sizes only: the values' rules are the host's, with their wording). */
export function isPanelSettings(value: unknown): value is MergePanelSettings {
  if (!isObject(value)) return false;
  const s = value;
  return (
    isList(s.inputs) &&
    s.inputs.every((i) => isObject(i) && isText(i.path) && isNumber(i.weight)) &&
    (s.method === 'ziplora' || s.method === 'direct') &&
    (s.lambda === 'auto' || isNumber(s.lambda)) &&
    (s.rank === null || isNumber(s.rank)) &&
    (s.rankEnergy === null || isNumber(s.rankEnergy)) &&
    isText(s.output) &&
    isList(s.blocks) &&
    s.blocks.every((b) => isObject(b) && isText(b.block) && (b.weights === undefined || (isList(b.weights) && b.weights.every(isNumber))) && (b.method === undefined || isText(b.method, 16)))
  );
}

/** Accepts only well-formed messages of the known kinds; anything else from the page is ignored. */
export function isFromMergePanel(value: unknown): value is MergePanelToHost {
  if (!isObject(value)) return false;
  switch (value.type) {
    case 'ready':
    case 'addInputs':
    case 'browseOutput':
    case 'cancelMerge':
      return true;
    case 'changed':
    case 'saveRecipe':
    case 'merge':
      return isPanelSettings(value.settings);
    default:
      return false;
  }
}

/** The settings with `paths` appended (weight 1), up to `max` inputs; each block rule's weights get a 1 per new input. */
export function withInputsAdded(settings: MergePanelSettings, paths: readonly string[], max: number): MergePanelSettings {
  const known = new Set(settings.inputs.map((i) => i.path));
  const added = paths.filter((p, i) => !known.has(p) && paths.indexOf(p) === i).slice(0, Math.max(0, max - settings.inputs.length));
  if (!added.length) return settings;
  return {
    ...settings,
    inputs: [...settings.inputs, ...added.map((path) => ({ path, weight: 1 }))],
    blocks: settings.blocks.map((rule) => (rule.weights ? { ...rule, weights: [...rule.weights, ...added.map(() => 1)] } : rule)),
  };
}

/** The settings without input `index`; each block rule loses that input's weight. */
export function withInputRemoved(settings: MergePanelSettings, index: number): MergePanelSettings {
  const drop = <T>(list: readonly T[]) => list.filter((_, i) => i !== index);
  return {
    ...settings,
    inputs: drop(settings.inputs),
    blocks: settings.blocks.map((rule) => (rule.weights ? { ...rule, weights: drop(rule.weights) } : rule)),
  };
}
