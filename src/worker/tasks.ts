/** The worker's smaller jobs for the extension: each reads tensor data, so none of it runs in the host. */
import { withManyFileComparison } from '../core/lora/compare-files';
import { summarizeAdapter } from '../core/lora/summary';
import { openCheckpoint } from '../core/safetensors/checkpoint';
import { SafetensorsError } from '../core/safetensors/errors';
import { withSafetensors } from '../core/safetensors/reader';
import { tensorStats } from '../core/stats/file-stats';
import { comparisonView } from '../shared/comparison-view';
import { WorkerTask } from './protocol';

export async function runTask(task: WorkerTask): Promise<unknown> {
  switch (task.kind) {
    case 'tensorStats': {
      const checkpoint = await openCheckpoint(task.file);
      try {
        const entry = checkpoint.tensors.find((t) => t.info.name === task.tensor);
        if (!entry) throw new SafetensorsError(task.file, `has no tensor named "${task.tensor}"`);
        return await tensorStats(entry.file, entry.info);
      } finally {
        await checkpoint.close();
      }
    }
    case 'loraLayers':
      return withSafetensors(task.file, async (file) => (await summarizeAdapter(file)).lora?.layers ?? []);
    case 'compare':
      return withManyFileComparison(task.files, undefined, (c) => ({ text: c.text, view: comparisonView(c) }));
  }
}
