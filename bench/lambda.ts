/**
 * The λ experiment behind the default (docs/merge-method.md §4): ZipLoRA at several penalty weights on the planted
 * pair (known overlap and column importance) and, when ../shared is present, on the two real SD1.5 LoRAs.
 * Fidelity is Σ(content + style error) relative to the direct merge's; "overlap" is mean |m_c·m_s| over the
 * planted shared columns; "strong kept" is the share of the columns carrying 90 % of each LoRA's energy
 * outside the overlap whose coefficient stays ≥ 0.9.
 * `node --import tsx bench/lambda.ts [--solver newton|adam]` (default: the default solver).
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
import { DEFAULT_ZIPLORA_SETTINGS, SOLVERS, SolverName } from '../src/core/merge/types';
import { LayerInput, LayerResult } from '../src/core/merge/ziplora-solver';
import { solveAll } from '../test/support/solve-all';
import { asDelta, plantedLayer, sd15AttentionLayers, strongColumns } from '../test/support/planted';
import { machine } from './support';

const LAMBDAS = [0, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
const solverArgument = parseArgs({ options: { solver: { type: 'string', default: DEFAULT_ZIPLORA_SETTINGS.solver } } }).values.solver as SolverName;
if (!SOLVERS.includes(solverArgument)) throw new Error(`--solver must be one of ${SOLVERS.join(', ')} (got "${solverArgument}")`);
const SOLVER = solverArgument;
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

async function main(): Promise<void> {
  console.log(`# λ experiment — ${machine()}`);
  await planted();
  await realPair();
}

if (require.main === module) void main();
