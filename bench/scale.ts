/**
 * The scale table (docs/benchmarks.md "Scale"): a ZipLoRA merge of two seeded LoRAs of equal rank through the
 * built CLI (`ziplora merge … --json`, the path users run), per layout and rank: wall time, solver time, GFLOP/s,
 * gradient-equivalents per layer, the merge worker's peak RSS, and Σ R²·in over the merged layers (R = 2·rank)
 * with the solver time per unit of it, and per unit and mean evaluation — one gradient costs 2·R²·in multiply-adds, so at a steady number of
 * evaluations per layer the solver time should grow with Σ R²·in. Layouts: real names and shapes (SD1.5 and SDXL
 * kohya shape dumps in ../shared/fixtures/shapes; Flux.1-dev, Wan 2.1 14B and HunyuanVideo layouts in
 * test/fixtures), kohya names, BF16. `--layers K` merges K layers spread evenly through each layout's layer list
 * (module by module, block by block: with K ≥ the module count it holds every module shape, so the peak RSS is
 * the whole merge's; the time is not).
 * A Wan 2.1 14B rank-128 pair whose worker peaks above 2 GiB prints FAIL and sets exit status 1.
 * Usage: node --import tsx bench/scale.ts [--layouts sd15,sdxl,flux,wan,hunyuan] [--ranks 16,32,64,128] [--layers K] [--threads 1]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BaseModelFamily } from '../src/core/lora/families';
import type { MergeSummary } from '../src/core/merge/request';
import { withKohyaNames } from '../test/support/family-fixtures';
import { LayerSpec, layersFromKohyaDump, layersFromLayout, randomLayerValues, readShapeDump, seededRandom, withRank, writeLora } from '../test/support/lora-generators';
import { BENCH_DIR, machine, median, SHAPE_DUMPS } from './support';

const ROOT = path.resolve(__dirname, '..');
/** The memory bound the issue sets for a Wan 2.1 14B rank-128 pair. */
const WAN_R128_LIMIT_MIB = 2048;

interface Layout {
  readonly label: string;
  readonly family: BaseModelFamily;
  /** Rank-1 layer specs with kohya names, or undefined when their source is absent. */
  readonly layers: () => LayerSpec[] | undefined;
}

const fromDump = (name: string) => () => (existsSync(path.join(SHAPE_DUMPS, name)) ? layersFromKohyaDump(readShapeDump(name)) : undefined);

const LAYOUTS: Record<string, Layout> = {
  sd15: { label: 'SD1.5', family: 'sd1', layers: fromDump('sd15_kohya_lora.invokeai_dump.json') },
  sdxl: { label: 'SDXL', family: 'sdxl', layers: fromDump('sdxl_kohya_lora.invokeai_dump.json') },
  flux: { label: 'Flux.1-dev', family: 'flux', layers: () => layersFromLayout('flux1-dev-transformer.layout.json', 1) },
  wan: { label: 'Wan 2.1 14B', family: 'wan', layers: () => withKohyaNames(layersFromLayout('wan2.1-14b-transformer.layout.json', 1)) },
  hunyuan: { label: 'HunyuanVideo', family: 'hunyuan-video', layers: () => withKohyaNames(layersFromLayout('hunyuan-video-transformer.layout.json', 1)) },
};

/** Input features of a layer's coefficient vector: the down factor's columns (a conv's in·k·k). */
const mean = (values: readonly number[]) => values.reduce((a, v) => a + v, 0) / values.length;
const inFeatures = (layer: LayerSpec) => layer.downShape.slice(1).reduce((a, b) => a * b, 1);

async function ensurePair(key: string, layers: readonly LayerSpec[], family: BaseModelFamily, rank: number, count: number | undefined): Promise<[string, string]> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const files: string[] = [];
  for (const side of [0, 1]) {
    const file = path.join(BENCH_DIR, `scale-${key}${count !== undefined ? `-spread${count}` : ''}-r${rank}-${'ab'[side]}.safetensors`);
    if (!existsSync(file)) {
      const random = seededRandom(5000 + 10 * rank + side);
      const metadata = { ss_network_dim: String(rank), ss_network_alpha: String(rank), ...(family === 'flux' ? { ss_base_model_version: 'flux1', ss_network_module: 'networks.lora_flux' } : {}) };
      await writeLora(file, withRank(layers, rank), (layer) => randomLayerValues(layer, random, rank), { scheme: 'kohya', family, dtype: 'BF16', metadata });
    }
    files.push(file);
  }
  return files as [string, string];
}

function merge(files: [string, string], threads: number): { summary: MergeSummary; wallSeconds: number } {
  const output = path.join(BENCH_DIR, 'scale-merged.safetensors');
  rmSync(output, { force: true });
  rmSync(output.replace(/\.safetensors$/, '.ziplora.safetensors'), { force: true });
  const started = performance.now();
  const json = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'merge', ...files, '-o', output, '--json', '--threads', String(threads)], { maxBuffer: 1 << 29, encoding: 'utf8' });
  return { summary: JSON.parse(json) as MergeSummary & { layerReports?: MergeSummary['reports'] }, wallSeconds: (performance.now() - started) / 1000 };
}

export async function benchScale(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { layouts: { type: 'string', default: 'sd15,sdxl,flux,wan,hunyuan' }, ranks: { type: 'string', default: '16,32,64,128' }, layers: { type: 'string' }, threads: { type: 'string', default: '1' } } });
  const count = values.layers !== undefined ? Number(values.layers) : undefined;
  const ranks = values.ranks!.split(',').map(Number);
  const threads = Number(values.threads);
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  console.log(`\n## Scale: ZipLoRA merge (newton, λ 0.03, wasm, ${threads} compute thread${threads === 1 ? '' : 's'}) — ${new Date().toISOString()}\nMachine: ${machine()}`);
  console.log(`Layers: ${count !== undefined ? `a subset, ${count} spread evenly through each layout's layers` : 'every layer of each layout'}.\n`);
  console.log('| layout | rank | layers merged | Σ R²·in | wall | solver | solver ns / (R²·in) | … per evaluation | GFLOP/s | gradient-equivalents per layer (median) | stopped | worker peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  let failed = false;
  for (const key of values.layouts!.split(',')) {
    const layout = LAYOUTS[key];
    if (!layout) throw new Error(`unknown layout ${key}; choose from ${Object.keys(LAYOUTS).join(', ')}`);
    const all = layout.layers();
    if (!all) {
      console.log(`| ${layout.label} | skipped: its shape dump is not in ${SHAPE_DUMPS} |`);
      continue;
    }
    const layers = count === undefined || count >= all.length ? all : Array.from({ length: count }, (_, i) => all[Math.floor((i * all.length) / count)]);
    for (const rank of ranks) {
      const files = await ensurePair(key, layers, layout.family, rank, count);
      const { summary, wallSeconds } = merge(files, threads);
      const reports = ((summary as { layerReports?: MergeSummary['reports'] }).layerReports ?? []).filter((r) => r.method === 'zip');
      const work = layers.reduce((a, l) => a + (2 * rank) ** 2 * inFeatures(l), 0);
      const evaluations = reports.map((r) => r.evaluations ?? 0);
      const stops = ['certificate', 'tolerance', 'cap', 'stalled'].map((s) => `${reports.filter((r) => r.stop === s).length}`).join('/');
      const peak = summary.peakRssMiB;
      const overLimit = key === 'wan' && rank === 128 && peak > WAN_R128_LIMIT_MIB;
      failed ||= overLimit;
      console.log(
        `| ${layout.label} | ${rank} | ${summary.layers.merged} | ${work.toExponential(2)} | ${wallSeconds.toFixed(1)} s | ${summary.optimiseSeconds.toFixed(1)} s | ${((summary.optimiseSeconds * 1e9) / work).toFixed(2)} | ${evaluations.length ? ((summary.optimiseSeconds * 1e9) / (work * mean(evaluations))).toFixed(3) : '–'} | ${summary.gflops?.toFixed(2) ?? '–'} | ${evaluations.length ? median(evaluations) : '–'} | ${stops} | ${peak.toFixed(0)} MiB${overLimit ? ` FAIL (> ${WAN_R128_LIMIT_MIB} MiB)` : ''} |`,
      );
    }
  }
  console.log('\n"stopped": certificate / tolerance / cap / stalled. Σ R²·in sums over every layer of the pair (R = 2·rank).');
  if (failed) {
    console.log(`FAIL: the Wan 2.1 14B rank-128 merge's worker peaked above ${WAN_R128_LIMIT_MIB} MiB`);
    process.exitCode = 1;
  }
}

if (require.main === module) void benchScale();
