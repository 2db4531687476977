/**
 * Benchmarks of the safetensors reader and statistics:
 * header parse + table of multi-GB checkpoints with SDXL-base names and shapes (sparse files), statistics
 * throughput over F16 data, one 1280×1280 F16 tensor, and peak memory of whole-file statistics.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import path from 'node:path';
import { renderSummaryText } from '../src/core/format/summary-text';
import { openCheckpoint } from '../src/core/safetensors/checkpoint';
import { withSafetensors } from '../src/core/safetensors/reader';
import { summarizeCheckpoint } from '../src/core/safetensors/summary';
import { writeSafetensors } from '../test/support/write-safetensors';
import { manyTensorStats, tensorStats } from '../src/core/stats/file-stats';
import { benchDir, fmtMs, median, readShapeDump, ShapeEntry, time, writeSparseCheckpoint } from './support';

/** Randomly filled F16 bytes that avoid NaN/Inf codes, like real weights. */
function randomF16(count: number): Uint8Array {
  const codes = new Uint16Array(count);
  randomFillSync(codes);
  for (let i = 0; i < count; i++) codes[i] &= 0xbfff; // clear the top exponent bit: |x| < 2
  return new Uint8Array(codes.buffer);
}

/** The same names with every tensor shrunk about `factor` times (so the header stays about the same). */
function shrink(tensors: readonly ShapeEntry[], factor: number): ShapeEntry[] {
  return tensors.map((t) => ({ ...t, shape: t.shape.map((d, i) => (i === 0 ? Math.max(1, Math.round(d / factor)) : d)) }));
}

async function headerParseAndTable(file: string): Promise<number> {
  const checkpoint = await openCheckpoint(file);
  try {
    return renderSummaryText(summarizeCheckpoint(checkpoint)).length;
  } finally {
    await checkpoint.close();
  }
}

export async function benchSafetensors(): Promise<void> {
  const dir = benchDir();
  const unet = readShapeDump('sdxl_base_unet.invokeai_dump.json');
  if (!unet) {
    console.log('header benchmark skipped: ../shared/fixtures/shapes/sdxl_base_unet.invokeai_dump.json not found');
  } else {
    console.log(`\n## Header parse + table (SDXL base UNet names and shapes, ${unet.length} tensors, sparse files)`);
    const variants: [string, ShapeEntry[]][] = [
      ['sdxl-unet-small.safetensors', shrink(unet, 73)],
      ['sdxl-unet-f16.safetensors', unet],
      ['sdxl-unet-f32.safetensors', unet.map((t) => ({ ...t, dtype: 'F32' as const }))],
    ];
    for (const [name, tensors] of variants) {
      const file = path.join(dir, name);
      const bytes = writeSparseCheckpoint(file, tensors);
      const times = await time(() => headerParseAndTable(file), 15, 3);
      console.log(`${name}  ${(bytes / 1e9).toFixed(2)} GB: ${fmtMs(times)}`);
    }
  }

  console.log('\n## Statistics over F16 data');
  const tensorFile = path.join(dir, 'f16-1280x1280.safetensors');
  await writeSafetensors(tensorFile, [{ name: 'w', dtype: 'F16', shape: [1280, 1280], data: randomF16(1280 * 1280) }], {}, { overwrite: true });
  await withSafetensors(tensorFile, async (file) => {
    const times = await time(() => tensorStats(file, file.tensor('w')), 15, 3);
    console.log(`one 1280×1280 F16 tensor (read + stats + histogram): ${fmtMs(times)}`);
  });
  const bigFile = path.join(dir, 'f16-random-512MiB.safetensors');
  const perTensor = 32 << 20; // 32 Mi elements = 64 MiB per tensor
  await writeSafetensors(bigFile, Array.from({ length: 8 }, (_, i) => ({ name: `t${i}`, dtype: 'F16' as const, shape: [perTensor], data: () => randomF16(perTensor) })), {}, { overwrite: true });
  await withSafetensors(bigFile, async (file) => {
    const entries = file.tensors.map((info) => ({ info, file }));
    const times = await time(() => manyTensorStats(entries), 5, 1);
    const mb = (file.fileBytes - file.header.dataStart) / 1e6;
    console.log(`512 MiB of random F16 (page cache warm): ${fmtMs(times)} → ${(mb / (median(times) / 1000)).toFixed(0)} MB/s`);
  });

  const sdxl = path.join(dir, 'sdxl-unet-f16.safetensors');
  if (unet) {
    console.log('\n## Whole-file statistics of the 5.1 GB SDXL UNet checkpoint, in a child process (peak RSS)');
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'whole-file-stats.ts'), sdxl], { encoding: 'utf8' });
    process.stdout.write(result.stdout + result.stderr);
  }
}

if (require.main === module) void benchSafetensors();
