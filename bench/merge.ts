/**
 * Merge benchmarks (docs/benchmarks.md "merge"): the SDXL pair merged directly and with ZipLoRA on each backend
 * and thread count, through the built CLI (so the worker process, reading and writing are included), next to
 * each backend's 1024³ matmul rate. Usage:
 *   node --import tsx bench/merge.ts [--backends wasm,cpu] [--solver newton|adam] [--steps 100] [--runs 1]
 *     [--cpu-steps 1] [--threads 1,2] [--direct-runs 3] [--layers N]
 * --threads runs every measurement at each thread count side by side (default: 1 and every core); --layers N
 * merges only the first N layers of the pair (a quick check); the plain-JavaScript cpu backend runs only
 * --cpu-steps steps (100 would take hours). `--ways 2,3` runs the N-way comparison instead (benchMergeWays).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BackendName } from '../src/core/merge/backends';
import { DEFAULT_ZIPLORA_SETTINGS } from '../src/core/merge/types';
import { MergeSummary } from '../src/core/merge/request';
import { ensureSdxlInputs, ensureSdxlPair } from './sdxl-pair';
import { REAL_SD15_PAIR } from './solvers';
import { BENCH_DIR, machine, matmulRate, median } from './support';

const ROOT = path.resolve(__dirname, '..');

function merge(files: readonly string[], extra: string[]): MergeSummary {
  const output = path.join(BENCH_DIR, 'sdxl-merged.safetensors');
  rmSync(output, { force: true });
  rmSync(output.replace(/\.safetensors$/, '.ziplora.safetensors'), { force: true });
  const json = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'merge', ...files, '-o', output, '--json', ...extra], { maxBuffer: 1 << 28, encoding: 'utf8' });
  return JSON.parse(json) as MergeSummary;
}

const seconds = (values: number[]) => `median ${median(values).toFixed(2)} s (${values.map((v) => v.toFixed(2)).join(', ')})`;
const peak = (results: MergeSummary[]) => `${Math.max(...results.map((r) => r.peakRssMiB)).toFixed(0)} MiB`;

export async function benchMerge(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { backends: { type: 'string' }, solver: { type: 'string', default: DEFAULT_ZIPLORA_SETTINGS.solver }, steps: { type: 'string' }, runs: { type: 'string' }, 'cpu-steps': { type: 'string' }, threads: { type: 'string' }, 'direct-runs': { type: 'string' }, layers: { type: 'string' } },
  });
  const backends = (values.backends ?? 'wasm,cpu').split(',') as BackendName[];
  const steps = Number(values.steps ?? 100);
  const runs = Number(values.runs ?? 1);
  const cpuSteps = Number(values['cpu-steps'] ?? 1);
  const directRuns = Number(values['direct-runs'] ?? 3);
  const threadCounts = [...new Set((values.threads ?? `1,${os.availableParallelism()}`).split(',').map(Number))];
  const layers = values.layers !== undefined ? Number(values.layers) : undefined;
  const files = await ensureSdxlPair(layers);
  if (!files) {
    console.log('merge benchmark skipped: ../shared/fixtures/shapes/sdxl_kohya_lora.invokeai_dump.json not found');
    return;
  }
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  console.log(`\n## Merge of two SDXL kohya rank-32 LoRAs (${layers ? `the first ${layers} of 986 layers` : '986 paired layers'}) — ${machine()}`);
  console.log('\n| run | threads | total time | vs 1 thread | peak RSS |');
  console.log('|---|---|---|---|---|');
  const directBase = new Map<number, number>();
  for (const threads of threadCounts) {
    const direct = Array.from({ length: directRuns }, () => merge(files, ['--method', 'direct', '--threads', String(threads)]));
    const total = median(direct.map((d) => d.seconds));
    directBase.set(threads, total);
    const base = directBase.get(1);
    console.log(`| direct merge (${direct[0].backend}) | ${direct[0].threads} | ${seconds(direct.map((d) => d.seconds))} | ${base ? `${(base / total).toFixed(2)}×` : '—'} | ${peak(direct)} |`);
  }
  console.log(`\nsolver ${values.solver}${values.solver === 'adam' ? '' : ' (steps do not apply; it stops on convergence)'}`);
  console.log('\n| backend | device | threads | steps | total time | optimisation | vs 1 thread | achieved GFLOP/s | 1024³ matmul GFLOP/s (one thread) | peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const backend of backends) {
    let rate: { gflops: number; device: string };
    try {
      rate = await matmulRate(backend);
    } catch (error) {
      console.log(`| ${backend} | not available: ${(error as Error).message} |`);
      continue;
    }
    const n = backend === 'cpu' ? cpuSteps : steps;
    let base: number | undefined;
    for (const threads of threadCounts) {
      const results = Array.from({ length: backend === 'cpu' ? 1 : runs }, () => merge(files, ['--backend', backend, '--solver', values.solver!, ...(values.solver === 'adam' ? ['--steps', String(n)] : []), '--threads', String(threads)]));
      const total = median(results.map((r) => r.seconds));
      const optimise = median(results.map((r) => r.optimiseSeconds));
      const gflops = median(results.map((r) => r.gflops ?? 0));
      if (results[0].threads === 1) base ??= total;
      console.log(
        `| ${backend} | ${results[0].device} | ${results[0].threads} | ${n} | ${seconds(results.map((r) => r.seconds))} | ${optimise.toFixed(1)} s | ${base ? `${(base / total).toFixed(2)}×` : '—'} | ${gflops.toFixed(2)} | ${rate.gflops.toFixed(1)} | ${peak(results)} |`,
      );
    }
  }
}

/**
 * The N-way target: a 3-way merge of SDXL kohya rank-32 LoRAs (986 layers each) takes at most 1.6× the
 * time of the 2-way merge, at the 2-way merge's peak memory. Each way is run `--runs` times per backend and thread
 * count, through the built CLI. Usage:
 *   node --import tsx bench/merge.ts --ways 2,3 [--backends wasm] [--threads N] [--runs 3] [--layers N] [--solver newton|adam]
 */
export async function benchMergeWays(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ways: { type: 'string', default: '2,3' }, backends: { type: 'string', default: 'wasm' }, threads: { type: 'string' }, runs: { type: 'string', default: '3' }, layers: { type: 'string' }, solver: { type: 'string', default: DEFAULT_ZIPLORA_SETTINGS.solver }, steps: { type: 'string' } },
    strict: true,
  });
  const ways = values.ways!.split(',').map(Number);
  const layers = values.layers !== undefined ? Number(values.layers) : undefined;
  const files = await ensureSdxlInputs(Math.max(...ways), layers);
  if (!files) {
    console.log('N-way merge benchmark skipped: ../shared/fixtures/shapes/sdxl_kohya_lora.invokeai_dump.json not found');
    return;
  }
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  const threadCounts = [...new Set((values.threads ?? String(os.availableParallelism())).split(',').map(Number))];
  const runs = Number(values.runs);
  const solver = ['--solver', values.solver!, ...(values.solver === 'adam' ? ['--steps', values.steps ?? '100'] : [])];
  console.log(`\n## N-way merge of SDXL kohya rank-32 LoRAs (${layers ? `the first ${layers} of 986 layers` : '986 layers each'}), ZipLoRA ${values.solver} — ${machine()}`);
  console.log('target: 3-way ≤ 1.6× the 2-way time, peak memory as the 2-way merge\'s');
  console.log('\n| backend | threads | inputs | total time | optimisation | vs 2-way | peak RSS | vs 2-way |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const backend of values.backends!.split(',')) {
    for (const threads of threadCounts) {
      let base: { seconds: number; rss: number } | undefined;
      for (const way of ways) {
        const results = Array.from({ length: runs }, () => merge(files.slice(0, way), ['--backend', backend, ...solver, '--threads', String(threads)]));
        const total = median(results.map((r) => r.seconds));
        const rss = Math.max(...results.map((r) => r.peakRssMiB));
        if (way === 2) base = { seconds: total, rss };
        const ratio = base && way !== 2 ? `${(total / base.seconds).toFixed(2)}×` : '—';
        const rssRatio = base && way !== 2 ? `${(rss / base.rss).toFixed(2)}×` : '—';
        console.log(`| ${backend} | ${results[0].threads} | ${way} | ${seconds(results.map((r) => r.seconds))} | ${median(results.map((r) => r.optimiseSeconds)).toFixed(1)} s | ${ratio} | ${rss.toFixed(0)} MiB | ${rssRatio} |`);
      }
    }
  }
}

/**
 * The cost of `--lambda auto` against one λ (the default 0.03), for whole merges through the built CLI (reading,
 * solving, writing): the real SD1.5 pair and, unless `--layers 0`, the first `--layers` (default 200) layers of
 * the SDXL pair. The two settings alternate run by run, so that a machine's drift hits both alike. Usage:
 *   node --import tsx bench/merge.ts --lambda-cost [--runs 3] [--layers 200] [--threads N]
 */
export async function benchLambdaCost(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { 'lambda-cost': { type: 'boolean' }, runs: { type: 'string', default: '3' }, layers: { type: 'string', default: '200' }, threads: { type: 'string' } },
    strict: true,
  });
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  const runs = Number(values.runs);
  const threads = values.threads ?? String(os.availableParallelism());
  const sets: { name: string; files: readonly string[] }[] = [];
  if (REAL_SD15_PAIR.every((f) => existsSync(f))) sets.push({ name: 'real SD1.5 pair (pokemon + catundchat)', files: REAL_SD15_PAIR });
  else console.log(`(real SD1.5 pair skipped: ${path.dirname(REAL_SD15_PAIR[0])} not found)`);
  const layers = Number(values.layers);
  if (layers > 0) {
    const sdxl = await ensureSdxlPair(layers);
    if (sdxl) sets.push({ name: `SDXL kohya rank-32 pair, first ${layers} layers`, files: sdxl });
  }
  console.log(`\n## --lambda auto against one λ (0.03), whole merges, wasm, ${threads} threads — ${machine()}`);
  console.log('target: auto ≤ 2× one λ\n');
  console.log('| inputs | λ | total time | optimisation | auto vs 0.03 (total) | auto vs 0.03 (optimisation) |');
  console.log('|---|---|---|---|---|---|');
  for (const set of sets) {
    const timed: Record<string, MergeSummary[]> = { '0.03': [], auto: [] };
    for (let run = 0; run < runs; run++) {
      for (const lambda of ['0.03', 'auto']) timed[lambda].push(merge(set.files, ['--backend', 'wasm', '--lambda', lambda, '--threads', threads]));
    }
    const total = (l: string) => median(timed[l].map((r) => r.seconds));
    const optimise = (l: string) => median(timed[l].map((r) => r.optimiseSeconds));
    for (const lambda of ['0.03', 'auto']) {
      const ratio = lambda === 'auto' ? `${(total('auto') / total('0.03')).toFixed(2)}× | ${(optimise('auto') / optimise('0.03')).toFixed(2)}×` : '— | —';
      console.log(`| ${set.name} | ${lambda} | ${seconds(timed[lambda].map((r) => r.seconds))} | ${optimise(lambda).toFixed(2)} s | ${ratio} |`);
    }
  }
}

if (require.main === module) {
  const args = process.argv;
  void (args.includes('--ways') ? benchMergeWays() : args.includes('--lambda-cost') ? benchLambdaCost() : benchMerge());
}
