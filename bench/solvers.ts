/**
 * The solver comparison (docs/benchmarks.md "Solvers"): Adam (the paper's recipe, 100 steps) against projected Newton-CG
 * on the planted pair, the real SD1.5 pair in ../shared/fixtures/real (when present) and a slice of the SDXL
 * kohya rank-32 layers (every 10th linear layer, generated in memory from the shapes dump). Per pair and solver:
 * optimisation time on wasm, Σ(content + style error) / Σ direct at λ = 0 and at the default λ, gradient-
 * equivalents per layer, and how many layers end at a loss ≤ Adam's.
 * `node --import tsx bench/solvers.ts [--pairs planted,real,sdxl] [--backend wasm]`
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openLora } from '../src/core/lora/open-lora';
import { pairLayers } from '../src/core/lora/pairing';
import { BackendName, selectBackend } from '../src/core/merge/backends';
import type { NewtonSettings } from '../src/core/merge/projected-newton';
import { readDelta } from '../src/core/merge/read-delta';
import { DEFAULT_ZIPLORA_SETTINGS, SolverName } from '../src/core/merge/types';
import { LayerInput, LayerResult } from '../src/core/merge/ziplora-solver';
import { solveAll } from '../test/support/solve-all';
import { layersFromKohyaDump, randomLayerValues, readShapeDump, seededRandom } from '../test/support/lora-generators';
import { asDelta, plantedLayer, sd15AttentionLayers } from '../test/support/planted';
import { benchCertificate } from './certificate';
import { machine, SHAPE_DUMPS } from './support';

export const REAL_SD15_PAIR = [
  'huggingface-diffusers__sd-pokemon-model-lora__pytorch_lora_weights.safetensors',
  'catundchat-stable-diffusion-v1.5-lora__pytorch_lora_weights.safetensors',
].map((name) => path.resolve(__dirname, '../../shared/fixtures/real', name));

export function plantedInputs(): LayerInput[] {
  const specs = sd15AttentionLayers(8);
  return specs.map((spec, i) => {
    const t = plantedLayer(spec, 7000 + i);
    return { inputs: [asDelta(t.content, spec), asDelta(t.style, spec)] };
  });
}

/** The paired layers of the real SD1.5 pair, or undefined when the fixtures are absent. */
export async function realSd15Inputs(): Promise<LayerInput[] | undefined> {
  if (!REAL_SD15_PAIR.every((f) => existsSync(f))) return undefined;
  const [content, style] = [await openLora(REAL_SD15_PAIR[0]), await openLora(REAL_SD15_PAIR[1])];
  try {
    const pairing = pairLayers({ name: 'a', layers: content.lora.layers, baseModel: content.lora.baseModel }, { name: 'b', layers: style.lora.layers, baseModel: style.lora.baseModel });
    const inputs: LayerInput[] = [];
    for (const p of pairing.paired) inputs.push({ inputs: [await readDelta(content.file, p.first), await readDelta(style.file, p.second)] });
    return inputs;
  } finally {
    await content.file.close();
    await style.file.close();
  }
}

/** Every `stride`-th linear layer of the SDXL kohya rank-32 pair (random values as bench/sdxl-pair.ts draws them). */
export function sdxlSlice(stride: number): LayerInput[] | undefined {
  const dump = 'sdxl_kohya_lora.invokeai_dump.json';
  if (!existsSync(path.join(SHAPE_DUMPS, dump))) return undefined;
  const layers = layersFromKohyaDump(readShapeDump(dump)).filter((l) => l.downShape.length === 2);
  const [a, b] = [seededRandom(1000), seededRandom(1001)];
  const values = layers.map((l) => [randomLayerValues(l, a, 16), randomLayerValues(l, b, 16)] as const);
  return layers.flatMap((l, i) => (i % stride === 0 ? [{ inputs: [asDelta(values[i][0], l), asDelta(values[i][1], l)] }] : []));
}

/** Solves every layer (100 Adam steps or Newton with `newton`'s stop) and times it. */
export async function solve(backend: BackendName, inputs: readonly LayerInput[], solver: SolverName, lambda: number, newton: Partial<NewtonSettings> = {}): Promise<{ results: LayerResult[]; seconds: number }> {
  const compute = await selectBackend(backend);
  const results: LayerResult[] = [];
  const started = performance.now();
  await solveAll(compute, inputs, { solver, steps: 100, lambda, learningRate: 0.01, newton }, { onLayerSolved: (i, r) => (results[i] = r) });
  return { results, seconds: (performance.now() - started) / 1000 };
}

const sum = (values: readonly number[]) => values.reduce((a, v) => a + v, 0);
const ratio = (results: LayerResult[]) => sum(results.map((r) => sum(r.errors))) / sum(results.map((r) => sum(r.directErrors)));
export const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;

async function comparePair(name: string, inputs: LayerInput[], backend: BackendName): Promise<void> {
  console.log(`\n## ${name} (${inputs.length} layers), ${backend}`);
  console.log('| λ | solver | optimisation | Σ error / direct | final loss / Adam\'s (Σ) | layers with loss ≤ Adam\'s | gradient-equivalents per layer (mean, max) | iterations (mean) | converged | ‖P(m − ∇L) − m‖ (max) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const lambda of [0, DEFAULT_ZIPLORA_SETTINGS.lambda]) {
    const adam = await solve(backend, inputs, 'adam', lambda);
    const newton = await solve(backend, inputs, 'newton', lambda);
    const finalLoss = (r: LayerResult) => r.losses[r.losses.length - 1];
    const adamLoss = adam.results.reduce((s, r) => s + finalLoss(r), 0);
    for (const [solver, run] of [['adam', adam], ['newton', newton]] as const) {
      const r = run.results;
      // float32 losses: "≤" up to 1e-6 relative.
      const notWorse = r.filter((x, i) => finalLoss(x) <= finalLoss(adam.results[i]) * (1 + 1e-6) + 1e-12).length;
      const evaluations = r.map((x) => x.evaluations);
      console.log(
        `| ${lambda} | ${solver} | ${run.seconds.toFixed(1)} s | ${ratio(r).toFixed(4)} | ${(r.reduce((s, x) => s + finalLoss(x), 0) / adamLoss).toFixed(3)} | ${notWorse} / ${r.length} | ${mean(evaluations).toFixed(1)}, ${Math.max(...evaluations)} | ${mean(r.map((x) => x.iterations)).toFixed(1)} | ${r.filter((x) => x.converged).length} / ${r.length} | ${Math.max(...r.map((x) => x.projectedGradientNorm)).toExponential(1)} |`,
      );
    }
  }
}

export async function benchSolvers(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { pairs: { type: 'string', default: 'planted,real,sdxl' }, backend: { type: 'string', default: 'wasm' } } });
  const backend = values.backend as BackendName;
  console.log(`\n# Solvers — ${new Date().toISOString()}\nMachine: ${machine()}`);
  for (const pair of values.pairs!.split(',')) {
    if (pair === 'planted') await comparePair('Planted pair (128 SD1.5 attention layers, rank 8)', plantedInputs(), backend);
    else if (pair === 'real') {
      const inputs = await realSd15Inputs();
      if (inputs) await comparePair('Real SD1.5 pair (pokemon + catundchat)', inputs, backend);
      else console.log(`\n(real SD1.5 pair skipped: ${path.dirname(REAL_SD15_PAIR[0])} not found)`);
    } else if (pair === 'sdxl') {
      const inputs = sdxlSlice(10);
      if (inputs) await comparePair('SDXL kohya rank-32 pair, every 10th linear layer (random values, f32 in memory)', inputs, backend);
      else console.log(`\n(SDXL slice skipped: ${SHAPE_DUMPS} not found)`);
    } else throw new Error(`unknown pair ${pair}; choose from planted, real, sdxl`);
  }
  // Newton's certificate stop against the stop before it, on the same pairs and Wan 2.1 14B's first block.
  await benchCertificate(['--pairs', `${values.pairs},wan`, '--backend', backend]);
}

if (require.main === module) void benchSolvers();
