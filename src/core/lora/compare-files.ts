/** Comparing two LoRA files end to end: open, pair, measure, and refuse pairs that do not fit together. */
import { renderComparisonText } from '../format/lora-text';
import { selectBackend } from '../merge/backends';
import { SafetensorsError } from '../safetensors/errors';
import { compareLoras, Comparison } from './compare';
import { openLora, OpenLora } from './open-lora';

export interface FileComparison {
  readonly first: OpenLora;
  readonly second: OpenLora;
  readonly comparison: Comparison;
  readonly text: string;
}

/** Runs `use` on the comparison of two files and closes them afterwards. */
export async function withFileComparison<T>(firstPath: string, secondPath: string, onProgress: ((done: number, total: number) => void) | undefined, use: (c: FileComparison) => T | Promise<T>): Promise<T> {
  const first = await openLora(firstPath);
  try {
    const second = await openLora(secondPath);
    try {
      // Without the wasm backend the comparison still runs, in float64 JavaScript, only slower.
      const tf = await selectBackend('wasm').then((b) => b.tf, () => undefined);
      tf?.enableProdMode();
      const comparison = await compareLoras(first, second, { onProgress, tf });
      // Two LoRAs that do not fit together are one bad-input message, not a report of hundreds of refusals.
      if (comparison.report.incompatibility) throw new SafetensorsError(secondPath, `cannot be paired with ${firstPath}: ${comparison.report.incompatibility}`);
      const side = (lora: OpenLora) => ({ path: lora.file.path, layers: lora.lora.layers, format: lora.lora.formatName, baseModel: lora.lora.baseModel.label });
      const text = renderComparisonText({ first: side(first), second: side(second) }, comparison);
      return await use({ first, second, comparison, text });
    } finally {
      await second.file.close();
    }
  } finally {
    await first.file.close();
  }
}
