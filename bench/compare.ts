/**
 * Benchmark: `ziplora compare` of two SDXL kohya rank-32 LoRAs (986 modules each, real names and shapes from
 * the shapes dump sdxl_kohya_lora.invokeai_dump.json, random weights, bf16 like the original), end to end:
 * the built CLI in a fresh process per run, reading both files. Prints every run and the median.
 * Usage: node --import tsx bench/compare.ts [runs]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { layersFromKohyaDump, randomLayerValues, readShapeDump, seededRandom, writeLora } from '../test/support/lora-generators';

const ROOT = path.resolve(__dirname, '..');
const BENCH_DIR = path.join(ROOT, '.bench');
const DUMP = 'sdxl_kohya_lora.invokeai_dump.json';

async function generate(file: string, seed: number): Promise<void> {
  const layers = layersFromKohyaDump(readShapeDump(DUMP));
  const random = seededRandom(seed);
  await writeLora(file, layers, (layer) => randomLayerValues(layer, random, 16), {
    scheme: 'kohya',
    family: 'sdxl',
    dtype: 'BF16',
    metadata: { ss_base_model_version: 'sdxl_base_v1-0', ss_network_dim: '32', ss_network_alpha: '16' },
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 5);
  mkdirSync(BENCH_DIR, { recursive: true });
  const files = [path.join(BENCH_DIR, 'sdxl-kohya-r32-a.safetensors'), path.join(BENCH_DIR, 'sdxl-kohya-r32-b.safetensors')];
  for (const [i, file] of files.entries()) {
    if (!existsSync(file)) {
      process.stdout.write(`generating ${path.relative(ROOT, file)} … `);
      await generate(file, 1000 + i);
      console.log(`${(statSync(file).size / 2 ** 20).toFixed(0)} MiB`);
    }
  }
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, [cli, 'compare', ...files, '--json'], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 28 });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
    console.log(`run ${run + 1}: ${times[run].toFixed(2)} s`);
  }
  console.log(`median of ${runs} runs: ${median(times).toFixed(2)} s (ziplora compare, 2 × 986 layers, rank 32, bf16; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version})`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
