/** Comparing LoRA files end to end: open, pair, measure, and refuse pairs that do not fit together. */
import { renderComparisonText } from '../format/lora-text';
import { renderManyComparisonText } from '../format/compare-many-text';
import { selectBackend } from '../merge/backends';
import { SafetensorsError } from '../safetensors/errors';
import { compareLoras, Comparison } from './compare';
import { checkComparedCount, compareMany, ManyComparison } from './compare-many';
import { openLora, OpenLora } from './open-lora';

export interface FileComparison {
  readonly first: OpenLora;
  readonly second: OpenLora;
  readonly comparison: Comparison;
  readonly text: string;
}

export interface ManyFileComparison {
  /** The files in the order given (A, B, C …). */
  readonly files: readonly OpenLora[];
  readonly comparison: ManyComparison;
  /** For two files the two-way text as `compare A B` has always printed it; for more, the pairs' table. */
  readonly text: string;
}

type Progress = ((done: number, total: number) => void) | undefined;

/** The wasm backend's tfjs when it loads; without it the comparison still runs, in float64 JavaScript, only slower. */
async function fastTf() {
  const tf = await selectBackend('wasm').then((b) => b.tf, () => undefined);
  tf?.enableProdMode();
  return tf;
}

const side = (lora: OpenLora) => ({ path: lora.file.path, layers: lora.lora.layers, format: lora.lora.formatName, baseModel: lora.lora.baseModel.label });

/** Opens every path in turn (closing what was opened if one fails), runs `use`, then closes them all. */
async function withOpenLoras<T>(paths: readonly string[], use: (loras: OpenLora[]) => Promise<T>): Promise<T> {
  const loras: OpenLora[] = [];
  try {
    for (const path of paths) loras.push(await openLora(path));
    return await use(loras);
  } finally {
    for (const lora of loras) await lora.file.close();
  }
}

/** Two LoRAs that do not fit together are one bad-input message, not a report of hundreds of refusals. */
function refuseIncompatible(comparison: Comparison, firstPath: string, secondPath: string): void {
  if (comparison.report.incompatibility) throw new SafetensorsError(secondPath, `cannot be paired with ${firstPath}: ${comparison.report.incompatibility}`);
}

/** Runs `use` on the comparison of two files and closes them afterwards. */
export async function withFileComparison<T>(firstPath: string, secondPath: string, onProgress: Progress, use: (c: FileComparison) => T | Promise<T>): Promise<T> {
  return withOpenLoras([firstPath, secondPath], async ([first, second]) => {
    const comparison = await compareLoras(first, second, { onProgress, tf: await fastTf() });
    refuseIncompatible(comparison, firstPath, secondPath);
    const text = renderComparisonText({ first: side(first), second: side(second) }, comparison);
    return use({ first, second, comparison, text });
  });
}

/** Runs `use` on the comparison of every pair of 2..8 files and closes them afterwards. */
export async function withManyFileComparison<T>(paths: readonly string[], onProgress: Progress, use: (c: ManyFileComparison) => T | Promise<T>): Promise<T> {
  checkComparedCount(paths.length);
  return withOpenLoras(paths, async (files) => {
    const comparison = await compareMany(files, { onProgress, tf: await fastTf() });
    for (const { a, b, comparison: pair } of comparison.pairs) refuseIncompatible(pair, paths[a], paths[b]);
    const text =
      files.length === 2
        ? renderComparisonText({ first: side(files[0]), second: side(files[1]) }, comparison.pairs[0].comparison)
        : renderManyComparisonText(files.map(side), comparison);
    return use({ files, comparison, text });
  });
}
