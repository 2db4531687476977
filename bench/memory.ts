/**
 * Memory benchmark: the merge's peak-memory estimate (src/core/merge/memory-estimate.ts)
 * against the measured peak RSS of the worker, on the SDXL pair and a Wan 2.1 14B pair (kohya/musubi-tuner
 * names, rank 32 + rank 64, real module shapes from test/fixtures, seeded BF16 weights), through the built CLI.
 * Usage: node --import tsx bench/memory.ts [--threads 1,2] [--wan-blocks 4] [--sdxl-layers N] [--method ziplora|direct]
 * --wan-blocks merges the first N of Wan's 40 blocks (every module shape is in each block, so the peak is the
 * whole merge's; the time is not); --sdxl-layers likewise takes the first N of the SDXL pair's 986 layers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openLora } from '../src/core/lora/open-lora';
import { groupLayers } from '../src/core/merge/merge-groups';
import { weighGroups } from '../src/core/merge/weighted-groups';
import { estimateMergeMemory } from '../src/core/merge/memory-estimate';
import { memoryPlan } from '../src/core/merge/memory-fit';
import { DEFAULT_MERGE_OPTIONS, MergeSummary } from '../src/core/merge/request';
import { layersFromLayout, randomLayerValues, seededRandom, withRank, writeLora } from '../test/support/lora-generators';
import { withKohyaNames } from '../test/support/family-fixtures';
import { ensureSdxlPair } from './sdxl-pair';
import { BENCH_DIR, machine } from './support';

const ROOT = path.resolve(__dirname, '..');
/** layer-flow's window per thread, as pipeline.ts sets it. */
const LAYERS_AHEAD_PER_THREAD = 2;

/** The Wan pair: the first `blocks` blocks of Wan 2.1 14B at rank 32 and rank 64 (10 modules a block). */
async function ensureWanPair(blocks: number): Promise<[string, string]> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const layers = withKohyaNames(layersFromLayout('wan2.1-14b-transformer.layout.json', 1)).filter((l) => Number(/blocks\.(\d+)\./.exec(l.canonical)?.[1]) < blocks);
  const files: string[] = [];
  for (const [i, rank] of [32, 64].entries()) {
    const file = path.join(BENCH_DIR, `wan14b-first${blocks}-r${rank}.safetensors`);
    if (!existsSync(file)) {
      const random = seededRandom(3000 + i);
      await writeLora(file, withRank(layers, rank), (layer) => randomLayerValues(layer, random, rank), { scheme: 'kohya', family: 'wan', dtype: 'BF16', metadata: { ss_network_dim: String(rank), ss_network_alpha: String(rank) } });
      console.log(`generated ${path.basename(file)} (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB)`);
    }
    files.push(file);
  }
  return files as [string, string];
}

async function estimateMiB(files: [string, string], threads: number): Promise<number> {
  const [a, b] = [await openLora(files[0]), await openLora(files[1])];
  try {
    const grouping = groupLayers([a, b].map((lora, i) => ({ name: 'ab'[i], layers: lora.lora.layers, baseModel: lora.lora.baseModel })));
    const { merged } = weighGroups(grouping, { inputs: files.map((path) => ({ path, weight: 1 })), blocks: [], method: 'ziplora' });
    return estimateMergeMemory(memoryPlan(DEFAULT_MERGE_OPTIONS, merged, threads, LAYERS_AHEAD_PER_THREAD)).totalBytes / 2 ** 20;
  } finally {
    await a.file.close();
    await b.file.close();
  }
}

function merge(files: [string, string], threads: number, method: string): MergeSummary {
  const output = path.join(BENCH_DIR, 'memory-merged.safetensors');
  rmSync(output, { force: true });
  rmSync(output.replace(/\.safetensors$/, '.ziplora.safetensors'), { force: true });
  const json = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'merge', ...files, '-o', output, '--json', '--method', method, '--threads', String(threads)], { maxBuffer: 1 << 28, encoding: 'utf8' });
  return JSON.parse(json) as MergeSummary;
}

export async function benchMemory(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { threads: { type: 'string' }, 'wan-blocks': { type: 'string' }, 'sdxl-layers': { type: 'string' }, method: { type: 'string' }, only: { type: 'string' } } });
  const threadCounts = (values.threads ?? '1,2').split(',').map(Number);
  const method = values.method ?? 'ziplora';
  const pairs: [string, [string, string] | undefined][] = [];
  if (values.only !== 'wan') pairs.push(['SDXL kohya rank 32 + 32', await ensureSdxlPair(values['sdxl-layers'] ? Number(values['sdxl-layers']) : undefined)]);
  if (values.only !== 'sdxl') pairs.push([`Wan 2.1 14B rank 32 + 64, first ${values['wan-blocks'] ?? 4} blocks`, await ensureWanPair(Number(values['wan-blocks'] ?? 4))]);
  execFileSync(process.execPath, [path.join(ROOT, 'esbuild.js')], { cwd: ROOT, stdio: 'inherit' });
  console.log(`\n## Peak memory of the merge worker: estimate vs measured (${method}) — ${machine()}`);
  console.log('\n| pair | layers | threads | estimate | measured peak RSS | estimate / measured | time |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, files] of pairs) {
    if (!files) {
      console.log(`| ${label} | skipped: the shapes dump is not in ../shared/fixtures/shapes |`);
      continue;
    }
    for (const threads of threadCounts) {
      const estimate = await estimateMiB(files, threads);
      const s = merge(files, threads, method);
      console.log(`| ${label} | ${s.layers.merged} | ${s.threads} | ${estimate.toFixed(0)} MiB | ${s.peakRssMiB.toFixed(0)} MiB | ${(estimate / s.peakRssMiB).toFixed(2)} | ${s.seconds.toFixed(1)} s |`);
    }
  }
}

if (require.main === module) void benchMemory();
