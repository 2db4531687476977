/**
 * Benchmark: `ziplora compare` of two SDXL kohya rank-32 LoRAs (986 modules each, real names and shapes from
 * the shapes dump sdxl_kohya_lora.invokeai_dump.json, random weights, bf16 like the original), end to end:
 * the built CLI in a fresh process per run, reading both files. Prints every run and the median.
 * Usage: node --import tsx bench/compare.ts [runs]
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ensureSdxlPair } from './sdxl-pair';
import { machine, median } from './support';

const ROOT = path.resolve(__dirname, '..');

export async function benchCompare(runs = 5): Promise<void> {
  const files = await ensureSdxlPair();
  if (!files) {
    console.log('compare benchmark skipped: ../shared/fixtures/shapes/sdxl_kohya_lora.invokeai_dump.json not found');
    return;
  }
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  const cli = path.join(ROOT, 'dist', 'cli.js');
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, [cli, 'compare', ...files, '--json'], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 28 });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  console.log(`\n## ziplora compare of two SDXL kohya rank-32 LoRAs (2 × 986 layers, bf16) — ${machine()}`);
  console.log(`median of ${runs} runs: ${median(times).toFixed(2)} s (runs ${times.map((t) => t.toFixed(2)).join(', ')})`);
}

if (require.main === module) void benchCompare(Number(process.argv[2] ?? 5));
