/**
 * The λ experiments (docs/merge-method.md §4). The sweep behind the default: ZipLoRA at several penalty weights
 * on the planted pair (known overlap and column importance) and, when ../shared is present, on the two real
 * SD1.5 LoRAs. Fidelity is Σ(content + style error) relative to the direct merge's; "overlap" is mean |m_c·m_s|
 * over the planted shared columns; "strong kept" is the share of the columns carrying 90 % of each LoRA's
 * energy outside the overlap whose coefficient stays ≥ 0.9. Then λ = auto against each λ of its path
 * (benchLambdaAuto, also `npm run bench -- lambda`): error share, overlap after / before, which λ the layers
 * chose, and the cost in time and gradient-equivalents.
 * `node --import tsx bench/lambda.ts [--solver newton|adam] [--only sweep|auto]` (default: the default solver, both).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { openLora } from '../src/core/lora/open-lora';
import { pairLayers } from '../src/core/lora/pairing';
import { selectBackend } from '../src/core/merge/backends';
import { layerReport } from '../test/support/reference-report';
import { prepareLayer, PreparedLayer } from '../test/support/objective';
import { readDelta } from '../src/core/merge/read-delta';
import { DEFAULT_ZIPLORA_SETTINGS, inputPairs, LambdaSetting, SOLVERS, SolverName } from '../src/core/merge/types';
import { LAMBDA_PATH } from '../src/core/merge/lambda-path';
import { LayerInput, LayerResult } from '../src/core/merge/ziplora-solver';
import { solveAll } from '../test/support/solve-all';
import { asDelta, plantedLayer, sd15AttentionLayers, strongColumns } from '../test/support/planted';
import { machine } from './support';
import { plantedInputs, REAL_SD15_PAIR, realSd15Inputs } from './solvers';

const LAMBDAS = [0, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const ARGUMENTS = parseArgs({ args: require.main === module ? process.argv.slice(2) : [], options: { solver: { type: 'string', default: DEFAULT_ZIPLORA_SETTINGS.solver }, only: { type: 'string' } } }).values;
const SOLVER = ARGUMENTS.solver as SolverName;
if (!SOLVERS.includes(SOLVER)) throw new Error(`--solver must be one of ${SOLVERS.join(', ')} (got "${SOLVER}")`);
const RECIPE = SOLVER === 'adam' ? '100 Adam steps, lr 0.01' : 'projected Newton-CG (default stop and caps)';

async function solveWith(inputs: LayerInput[], lambda: number): Promise<LayerResult[]> {
  const backend = await selectBackend('wasm');
  const results: LayerResult[] = [];
  await solveAll(backend, inputs, { solver: SOLVER, steps: 100, lambda, learningRate: 0.01 }, { onLayerSolved: (i, r) => (results[i] = r) });
  return results;
}

function fidelityRatio(layers: PreparedLayer[], solutions: LayerResult[], lambda: number) {
  let merged = 0;
  let direct = 0;
  let normRatio = 0;
  let meanProduct = 0;
  layers.forEach((layer, i) => {
    const r = layerReport({ module: String(i), layer, m: solutions[i].m, lambda, steps: 100 });
    merged += r.errors[0] + r.errors[1];
    direct += r.directErrors[0] + r.directErrors[1];
    normRatio += r.normRatio / layers.length;
    meanProduct += solutions[i].m[0].reduce((s, v, j) => s + v * solutions[i].m[1][j], 0) / layer.inFeatures / layers.length;
  });
  return { ratio: merged / direct, normRatio, meanProduct };
}

async function planted(): Promise<void> {
  const specs = sd15AttentionLayers(8);
  const truth = specs.map((l, i) => plantedLayer(l, 7000 + i));
  const deltas = truth.map((t, i) => ({ inputs: [asDelta(t.content, specs[i]), asDelta(t.style, specs[i])] }));
  const layers = deltas.map((d) => prepareLayer(d));
  const strong = deltas.map((d, i) => ({ content: strongColumns(d.inputs[0], truth[i].overlap), style: strongColumns(d.inputs[1], truth[i].overlap) }));
  console.log(`\n## Planted pair (128 SD1.5 attention layers, rank 8, 20 % shared columns), ${RECIPE}, wasm`);
  console.log('| λ | Σ error / direct | mean m_c·m_s on shared columns | strong columns kept ≥ 0.9 | min strong coefficient | ‖ΔW‖ / direct |');
  console.log('|---|---|---|---|---|---|');
  for (const lambda of LAMBDAS) {
    const solutions = await solveWith(deltas, lambda);
    const { ratio, normRatio } = fidelityRatio(layers, solutions, lambda);
    let shared = 0;
    let sharedCount = 0;
    let kept = 0;
    let total = 0;
    let minimum = 1;
    solutions.forEach((s, i) => {
      truth[i].overlap.forEach((o, j) => {
        if (o) {
          shared += s.m[0][j] * s.m[1][j];
          sharedCount++;
        }
      });
      for (const [columns, m] of [[strong[i].content, s.m[0]], [strong[i].style, s.m[1]]] as const) {
        for (const j of columns) {
          total++;
          if (m[j] >= 0.9) kept++;
          minimum = Math.min(minimum, m[j]);
        }
      }
    });
    console.log(`| ${lambda} | ${ratio.toFixed(3)} | ${(shared / sharedCount).toFixed(3)} | ${((100 * kept) / total).toFixed(1)} % | ${minimum.toFixed(3)} | ${normRatio.toFixed(3)} |`);
  }
}

async function realPair(): Promise<void> {
  const dir = path.resolve(__dirname, '../../shared/fixtures/real');
  const a = path.join(dir, 'huggingface-diffusers__sd-pokemon-model-lora__pytorch_lora_weights.safetensors');
  const b = path.join(dir, 'catundchat-stable-diffusion-v1.5-lora__pytorch_lora_weights.safetensors');
  if (!existsSync(a) || !existsSync(b)) {
    console.log(`\n(real SD1.5 pair skipped: ${dir} not found)`);
    return;
  }
  const [content, style] = [await openLora(a), await openLora(b)];
  const pairing = pairLayers({ name: 'a', layers: content.lora.layers, baseModel: content.lora.baseModel }, { name: 'b', layers: style.lora.layers, baseModel: style.lora.baseModel });
  const inputs: LayerInput[] = [];
  for (const p of pairing.paired) inputs.push({ inputs: [await readDelta(content.file, p.first), await readDelta(style.file, p.second)] });
  const layers = inputs.map((input) => prepareLayer(input));
  console.log(`\n## Real SD1.5 pair (pokemon diffusers LoRA + catundchat attention-processor LoRA, ${layers.length} layers), ${RECIPE}`);
  console.log('| λ | Σ error / direct | mean m_c·m_s | ‖ΔW‖ / direct |');
  console.log('|---|---|---|---|');
  for (const lambda of LAMBDAS) {
    const solutions = await solveWith(inputs, lambda);
    const { ratio, meanProduct, normRatio } = fidelityRatio(layers, solutions, lambda);
    console.log(`| ${lambda} | ${ratio.toFixed(3)} | ${meanProduct.toFixed(3)} | ${normRatio.toFixed(3)} |`);
  }
}

/** Σ over layers of Σ_i errors at the result, and the same for the direct merge. */
const errorShare = (results: readonly LayerResult[]) => sum(results.map((r) => sum(r.errors))) / sum(results.map((r) => sum(r.directErrors)));

/** Σ_layers Σ_pairs Σ_j |m_i,j·m_k,j·⟨c_i,j, c_k,j⟩| / Σ_layers Σ_pairs Σ_j |⟨c_i,j, c_k,j⟩|: the overlap left, pooled. */
function overlapShare(results: readonly LayerResult[]): number {
  let after = 0;
  let before = 0;
  for (const r of results) {
    inputPairs(r.m.length).forEach(([i, k], p) => {
      r.columnInner[p].forEach((inner, j) => {
        after += Math.abs(r.m[i][j] * r.m[k][j] * inner);
        before += Math.abs(inner);
      });
    });
  }
  return before > 0 ? after / before : 0;
}

const sum = (values: readonly number[]) => values.reduce((a, v) => a + v, 0);

interface Timed {
  readonly results: LayerResult[];
  /** Fastest wall-clock and CPU time (user + system of this process) over the runs. */
  readonly seconds: number;
  readonly cpuSeconds: number;
}

/** Solves every layer once with λ (or auto); wall-clock and this process's CPU time. */
async function solveOnce(inputs: readonly LayerInput[], lambda: LambdaSetting): Promise<{ results: LayerResult[]; seconds: number; cpuSeconds: number }> {
  const backend = await selectBackend('wasm');
  const results: LayerResult[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  await solveAll(backend, inputs, { solver: SOLVER, steps: 100, lambda, learningRate: 0.01 }, { onLayerSolved: (i, r) => (results[i] = r) });
  const used = process.cpuUsage(cpu);
  return { results, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/**
 * Every setting `runs` times, interleaved (round by round, so that a busy spell of a shared machine hits all
 * settings alike), after one unmeasured warm-up; the fastest wall-clock and CPU time of each.
 */
async function timedSolves(inputs: readonly LayerInput[], settings: readonly LambdaSetting[], runs: number): Promise<Map<LambdaSetting, Timed>> {
  await solveOnce(inputs.slice(0, 4), 0);
  const timed = new Map<LambdaSetting, Timed>();
  for (let run = 0; run < runs; run++) {
    for (const lambda of settings) {
      const { results, seconds, cpuSeconds } = await solveOnce(inputs, lambda);
      const before = timed.get(lambda);
      timed.set(lambda, { results, seconds: Math.min(seconds, before?.seconds ?? Infinity), cpuSeconds: Math.min(cpuSeconds, before?.cpuSeconds ?? Infinity) });
    }
  }
  return timed;
}

async function autoTable(name: string, inputs: readonly LayerInput[], runs: number): Promise<void> {
  console.log(`\n## ${name} (${inputs.length} layers), ${RECIPE}, wasm, fastest of ${runs} interleaved runs`);
  console.log('| λ | Σ error / direct | overlap after / before | λ chosen per layer | wall | CPU | gradient-equivalents |');
  console.log('|---|---|---|---|---|---|---|');
  const timed = await timedSolves(inputs, [...LAMBDA_PATH, 'auto'], runs);
  for (const lambda of [...LAMBDA_PATH, 'auto'] as const) {
    const { results, seconds, cpuSeconds } = timed.get(lambda)!;
    const evaluations = sum(results.map((r) => r.evaluations));
    const chosen = lambda === 'auto' ? LAMBDA_PATH.map((l) => `${l}: ${results.filter((r) => r.lambda === l).length}`).join(', ') : '';
    const bold = (text: string) => (lambda === 'auto' ? `**${text}**` : text);
    console.log(`| ${bold(String(lambda))} | ${bold(errorShare(results).toFixed(3))} | ${bold(overlapShare(results).toFixed(3))} | ${chosen} | ${seconds.toFixed(1)} s | ${cpuSeconds.toFixed(1)} s | ${evaluations} |`);
  }
  const auto = timed.get('auto')!;
  const one = timed.get(DEFAULT_ZIPLORA_SETTINGS.lambda)!;
  const evaluations = (t: Timed) => sum(t.results.map((r) => r.evaluations));
  console.log(
    `\nauto / one λ (${DEFAULT_ZIPLORA_SETTINGS.lambda}): ${(auto.seconds / one.seconds).toFixed(2)}× the wall time, ${(auto.cpuSeconds / one.cpuSeconds).toFixed(2)}× the CPU time, ` +
      `${(evaluations(auto) / evaluations(one)).toFixed(2)}× the gradient-equivalents`,
  );
  const above = auto.results.filter((r) => sum(r.errors) > sum(r.directErrors)).length;
  console.log(`layers whose auto error exceeds the direct merge's: ${above} of ${auto.results.length}`);
}

/**
 * Three planted LoRAs per layer: the planted pair, and a second "content" LoRA of another seed, reading the same
 * first 60 % of the columns as the first (so it overlaps it on 60 % and the style on 20 %).
 */
function plantedTriple(): LayerInput[] {
  const specs = sd15AttentionLayers(8);
  return plantedInputs().map((pair, i) => ({ inputs: [...pair.inputs, asDelta(plantedLayer(specs[i], 9000 + i).content, specs[i])] }));
}

/** λ = auto against each λ of its path, on the planted pair, a planted triple and (when present) the real SD1.5 pair. */
export async function benchLambdaAuto(runs = 3): Promise<void> {
  console.log(`\n# λ = auto — ${new Date().toISOString()}\nMachine: ${machine()}`);
  await autoTable('Planted pair (128 SD1.5 attention layers, rank 8)', plantedInputs(), runs);
  await autoTable('Planted triple (the planted pair and a second content LoRA)', plantedTriple(), runs);
  const real = await realSd15Inputs();
  if (real) await autoTable('Real SD1.5 pair (pokemon + catundchat)', real, runs);
  else console.log(`\n(real SD1.5 pair skipped: ${path.dirname(REAL_SD15_PAIR[0])} not found)`);
}

async function main(): Promise<void> {
  if (ARGUMENTS.only !== 'auto') {
    console.log(`# λ experiment — ${machine()}`);
    await planted();
    await realPair();
  }
  if (ARGUMENTS.only !== 'sweep') await benchLambdaAuto();
}

if (require.main === module) void main();
