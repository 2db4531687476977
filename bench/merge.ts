/**
 * Merge benchmarks (README "Merge benchmark"): the SDXL pair merged directly and with ZipLoRA on each backend,
 * through the built CLI (so the worker process, reading and writing are included), next to each backend's
 * 1024³ matmul rate. Usage: node --import tsx bench/merge.ts [--backends wasm,cpu] [--solver newton|adam] [--steps 100] [--runs 1]
 * [--cpu-steps 1]; the plain-JavaScript cpu backend runs only --cpu-steps steps (100 would take hours).
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BackendName } from '../src/core/merge/backends';
import { DEFAULT_ZIPLORA_SETTINGS } from '../src/core/merge/types';
import { MergeSummary } from '../src/core/merge/request';
import { ensureSdxlPair } from './sdxl-pair';
import { BENCH_DIR, machine, matmulRate, median } from './support';

const ROOT = path.resolve(__dirname, '..');


function merge(files: [string, string], extra: string[]): MergeSummary {
  const output = path.join(BENCH_DIR, 'sdxl-merged.safetensors');
  rmSync(output, { force: true });
  rmSync(output.replace(/\.safetensors$/, '.ziplora.safetensors'), { force: true });
  const json = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'merge', ...files, '-o', output, '--json', ...extra], { maxBuffer: 1 << 28, encoding: 'utf8' });
  return JSON.parse(json) as MergeSummary;
}

export async function benchMerge(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { backends: { type: 'string' }, solver: { type: 'string', default: DEFAULT_ZIPLORA_SETTINGS.solver }, steps: { type: 'string' }, runs: { type: 'string' }, 'cpu-steps': { type: 'string' } } });
  const backends = (values.backends ?? 'wasm,cpu').split(',') as BackendName[];
  const steps = Number(values.steps ?? 100);
  const runs = Number(values.runs ?? 1);
  const cpuSteps = Number(values['cpu-steps'] ?? 1);
  const files = await ensureSdxlPair();
  if (!files) {
    console.log('merge benchmark skipped: ../shared/fixtures/shapes/sdxl_kohya_lora.invokeai_dump.json not found');
    return;
  }
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  console.log(`\n## Merge of two SDXL kohya rank-32 LoRAs (986 paired layers) — ${machine()}`);
  const direct = Array.from({ length: 3 }, () => merge(files, ['--method', 'direct']));
  console.log(`direct merge: median ${median(direct.map((d) => d.seconds)).toFixed(2)} s (runs ${direct.map((d) => d.seconds.toFixed(2)).join(', ')}), peak RSS ${Math.max(...direct.map((d) => d.peakRssMiB)).toFixed(0)} MiB`);
  console.log(`\nsolver ${values.solver}${values.solver === 'adam' ? '' : ' (steps do not apply)'}`);
  console.log('\n| backend | device | steps | total time | optimisation | achieved GFLOP/s | 1024³ matmul GFLOP/s | share | peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const backend of backends) {
    let rate: { gflops: number; device: string };
    try {
      rate = await matmulRate(backend);
    } catch (error) {
      console.log(`| ${backend} | not available: ${(error as Error).message} |`);
      continue;
    }
    const n = backend === 'cpu' ? cpuSteps : steps;
    const results = Array.from({ length: backend === 'cpu' ? 1 : runs }, () => merge(files, ['--backend', backend, '--solver', values.solver!, '--steps', String(n)]));
    const total = median(results.map((r) => r.seconds));
    const optimise = median(results.map((r) => r.optimiseSeconds));
    const gflops = median(results.map((r) => r.gflops ?? 0));
    console.log(
      `| ${backend} | ${results[0].device} | ${n} | ${total.toFixed(1)} s | ${optimise.toFixed(1)} s | ${gflops.toFixed(2)} | ${rate.gflops.toFixed(1)} | ${((100 * gflops) / rate.gflops).toFixed(0)} % | ${Math.max(...results.map((r) => r.peakRssMiB)).toFixed(0)} MiB |`,
    );
  }
}

if (require.main === module) void benchMerge();
