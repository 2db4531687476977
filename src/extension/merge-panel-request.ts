/**
 * The merge panel's settings and the merge request they stand for, without VS Code: the panel's first state for
 * some files, the request (the panel's choices over the `ziplora.*` settings), and what is wrong with it, in the
 * words of merge-options.ts and block-rules.ts so that the panel, the CLI and a recipe refuse alike.
 */
import path from 'node:path';
import { MAX_BLOCK_WEIGHT } from '../core/merge/block-rules';
import { MAX_INPUT_WEIGHT, validateMergeRequest } from '../core/merge/merge-options';
import { BLOCK_METHODS, DEFAULT_MERGE_OPTIONS, MAX_INPUTS, MergeRequest, MIN_INPUTS } from '../core/merge/request';
import type { MergePanelLimits, MergePanelSettings } from '../shared/merge-panel-protocol';
import { buildMergeRequest, defaultOutputPath, MergeSettings } from './merge-arguments';

export const PANEL_LIMITS: MergePanelLimits = {
  minInputs: MIN_INPUTS,
  maxInputs: MAX_INPUTS,
  // The panel has one weight field kind for inputs and blocks: the smaller bound holds for both.
  maxWeight: Math.min(MAX_INPUT_WEIGHT, MAX_BLOCK_WEIGHT),
  blockMethods: BLOCK_METHODS,
};

/** The panel's first state for `files`: weight 1 each, ZipLoRA, λ, rank and rank energy from the settings, no block rules. */
export function initialPanelSettings(files: readonly string[], settings: MergeSettings, exists: (file: string) => boolean): MergePanelSettings {
  return {
    inputs: files.slice(0, MAX_INPUTS).map((file) => ({ path: file, weight: 1 })),
    method: DEFAULT_MERGE_OPTIONS.method,
    lambda: settings.lambda,
    rank: settings.outputRank > 0 ? settings.outputRank : null,
    rankEnergy: settings.outputRankEnergy > 0 ? settings.outputRankEnergy : null,
    output: files.length ? defaultOutputPath(files.slice(0, MAX_INPUTS), exists) : '',
    blocks: [],
  };
}

/** The request the panel stands for: its choices, and the settings for the rest (solver, backend, dtype, threads…). */
export function panelRequest(panel: MergePanelSettings, settings: MergeSettings, overwrite: boolean): MergeRequest {
  return buildMergeRequest(
    {
      inputs: panel.inputs.map((input) => ({ path: input.path, weight: input.weight })),
      output: panel.output,
      method: panel.method,
      // λ means nothing to a direct merge: the setting's value keeps the request valid without it.
      ...(panel.method === 'ziplora' ? { lambda: panel.lambda } : {}),
      ...(panel.rank !== null ? { rank: panel.rank } : {}),
      ...(panel.rankEnergy !== null ? { rankEnergy: panel.rankEnergy } : {}),
      blocks: panel.blocks.map((rule) => ({ ...rule, ...(rule.weights ? { weights: [...rule.weights] } : {}) })),
      overwrite,
    },
    // The panel's own rank fields decide (empty: exact), not the settings they started from.
    { ...settings, outputRank: 0, outputRankEnergy: 0 },
  );
}

/** What keeps the panel's merge from running, in words (empty when it can run). */
export function panelProblems(panel: MergePanelSettings, settings: MergeSettings): string[] {
  const problems: string[] = [];
  if (panel.inputs.length < MIN_INPUTS || panel.inputs.length > MAX_INPUTS) problems.push(`a merge takes ${MIN_INPUTS} to ${MAX_INPUTS} LoRAs (the panel has ${panel.inputs.length}): add or remove inputs`);
  panel.inputs.forEach((input, i) => {
    if (panel.inputs.findIndex((other) => path.resolve(other.path) === path.resolve(input.path)) < i) problems.push(`input ${i + 1} (${path.basename(input.path)}) is listed twice: remove one`);
  });
  if (panel.output.trim() === '') problems.push('the output file is not set: type a path or choose Browse…');
  else if (panel.inputs.some((input) => path.resolve(input.path) === path.resolve(panel.output))) problems.push(`the output ${path.basename(panel.output)} is one of the inputs: choose another file`);
  // The request's own rules, each named as the panel labels it.
  const names: Readonly<Record<string, string>> = { inputs: 'the inputs', rank: 'the output rank', rankEnergy: 'the rank energy', lambda: 'λ' };
  const rules = validateMergeRequest(panelRequest(panel, settings, false)).map((problem) => {
    const key = Object.keys(names).find((k) => problem.startsWith(`${k} `));
    return key ? names[key] + problem.slice(key.length) : problem;
  });
  return [...problems, ...rules];
}

/** What a selection of `count` files leads to: the two-file flow, the panel, or a refusal in words. */
export function selectionRoute(count: number): 'two' | 'panel' | string {
  if (count === 2) return 'two';
  if (count > 2 && count <= MAX_INPUTS) return 'panel';
  return `Select ${MIN_INPUTS} to ${MAX_INPUTS} .safetensors files to merge (${count} selected).`;
}
