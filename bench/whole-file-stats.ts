/** Child process of the safetensors benchmark: statistics of every tensor of one file, then its peak RSS. */
import { openCheckpoint } from '../src/core/safetensors/checkpoint';
import { manyTensorStats } from '../src/core/stats/file-stats';

async function main(file: string): Promise<void> {
  const checkpoint = await openCheckpoint(file);
  const start = performance.now();
  const stats = await manyTensorStats(checkpoint.tensors);
  const seconds = (performance.now() - start) / 1000;
  const dataBytes = checkpoint.tensors.reduce((s, t) => s + t.info.dataOffsets[1] - t.info.dataOffsets[0], 0);
  await checkpoint.close();
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  console.log(`${stats.length} tensors, ${(dataBytes / 1e9).toFixed(2)} GB in ${seconds.toFixed(1)} s (${(dataBytes / 1e6 / seconds).toFixed(0)} MB/s); peak RSS ${peakMiB.toFixed(0)} MiB`);
}

void main(process.argv[2]);
