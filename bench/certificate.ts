/**
 * The certificate stop (docs/merge-method.md §3, docs/benchmarks.md "Certificate stop"): Newton on each pair at
 * λ = 0 and at the default λ, with the certificate off (the projected-gradient tolerance and the caps: the stop
 * before it) and on. Per run: gradient-equivalents per layer (median, mean), how the layers stopped, and each
 * layer's final loss over its optimum (median, max). The optimum is a reference solve per layer (certificate off,
 * tolerance 10⁻⁷, up to 2,000 gradient-equivalents); at λ = 0 the objective is convex and the reference is the
 * optimum up to float32, at λ > 0 it is the best local optimum found. Wan 2.1 14B: the first `--wan-blocks`
 * blocks (10 modules each, every module shape of the model).
 * Usage: node --import tsx bench/certificate.ts [--pairs planted,real,sdxl,wan] [--wan-blocks 1] [--backend wasm]
 */
import { parseArgs } from 'node:util';
import { BackendName } from '../src/core/merge/backends';
import { DEFAULT_NEWTON_SETTINGS, NewtonSettings } from '../src/core/merge/projected-newton';
import { DEFAULT_ZIPLORA_SETTINGS, STOP_REASONS } from '../src/core/merge/types';
import { LayerInput, LayerResult } from '../src/core/merge/ziplora-solver';
import { withKohyaNames } from '../test/support/family-fixtures';
import { layersFromLayout, randomLayerValues, seededRandom, withRank } from '../test/support/lora-generators';
import { asDelta } from '../test/support/planted';
import { mean, plantedInputs, realSd15Inputs, sdxlSlice, solve } from './solvers';
import { machine, median } from './support';

/** Wan 2.1 14B's first `blocks` blocks, rank 32 + 64, seeded values (as bench/memory.ts writes them), in memory. */
export function wanInputs(blocks: number): LayerInput[] {
  const layers = withKohyaNames(layersFromLayout('wan2.1-14b-transformer.layout.json', 1)).filter((l) => Number(/blocks\.(\d+)\./.exec(l.canonical)?.[1]) < blocks);
  const [a, b] = [seededRandom(3000), seededRandom(3001)];
  return layers.map((l) => {
    const [first, second] = [withRank([l], 32)[0], withRank([l], 64)[0]];
    return { inputs: [asDelta(randomLayerValues(first, a, 32), first), asDelta(randomLayerValues(second, b, 64), second)] };
  });
}

const REFERENCE: Partial<NewtonSettings> = { gapFraction: 0, tolerance: 1e-7, maxIterations: 1000, maxEvaluations: 2000 };

const finalLoss = (r: LayerResult) => r.losses[r.losses.length - 1];

async function certificatePair(name: string, inputs: LayerInput[], backend: BackendName): Promise<void> {
  console.log(`\n## ${name} (${inputs.length} layers), ${backend}`);
  console.log('| λ | stop | optimisation | gradient-equivalents per layer (median, mean) | stopped: certificate / tolerance / cap / stalled | final loss / optimum (median, max) |');
  console.log('|---|---|---|---|---|---|');
  for (const lambda of [0, DEFAULT_ZIPLORA_SETTINGS.lambda]) {
    const reference = await solve(backend, inputs, 'newton', lambda, REFERENCE);
    // Where a run ends below the reference (the reference is float32 too), that run's loss is the optimum.
    const runs = [
      ['projected gradient + caps (before)', await solve(backend, inputs, 'newton', lambda, { gapFraction: 0 })],
      [`certificate ≤ ${DEFAULT_NEWTON_SETTINGS.gapFraction} · L (after)`, await solve(backend, inputs, 'newton', lambda, {})],
    ] as const;
    const optimum = inputs.map((_, i) => Math.min(finalLoss(reference.results[i]), ...runs.map(([, run]) => finalLoss(run.results[i]))));
    for (const [stop, run] of runs) {
      const evaluations = run.results.map((r) => r.evaluations);
      const ratios = run.results.map((r, i) => (optimum[i] > 0 ? finalLoss(r) / optimum[i] : 1));
      const stops = STOP_REASONS.map((reason) => run.results.filter((r) => r.stop === reason).length).join(' / ');
      console.log(`| ${lambda} | ${stop} | ${run.seconds.toFixed(1)} s | ${median(evaluations)}, ${mean(evaluations).toFixed(1)} | ${stops} | ${median(ratios).toFixed(5)}, ${Math.max(...ratios).toFixed(5)} |`);
    }
  }
}

export async function benchCertificate(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { pairs: { type: 'string', default: 'planted,real,sdxl,wan' }, 'wan-blocks': { type: 'string', default: '1' }, backend: { type: 'string', default: 'wasm' } } });
  const backend = values.backend as BackendName;
  console.log(`\n# Certificate stop — ${new Date().toISOString()}\nMachine: ${machine()}`);
  for (const pair of values.pairs!.split(',')) {
    if (pair === 'planted') await certificatePair('Planted pair (128 SD1.5 attention layers, rank 8)', plantedInputs(), backend);
    else if (pair === 'real') {
      const inputs = await realSd15Inputs();
      if (inputs) await certificatePair('Real SD1.5 pair (pokemon + catundchat)', inputs, backend);
      else console.log('\n(real SD1.5 pair skipped: ../shared/fixtures/real not found)');
    } else if (pair === 'sdxl') {
      const inputs = sdxlSlice(10);
      if (inputs) await certificatePair('SDXL kohya rank-32 pair, every 10th linear layer (seeded values)', inputs, backend);
      else console.log('\n(SDXL slice skipped: ../shared/fixtures/shapes not found)');
    } else if (pair === 'wan') {
      const blocks = Number(values['wan-blocks']);
      await certificatePair(`Wan 2.1 14B rank 32 + 64, first ${blocks} of 40 blocks (seeded values)`, wanInputs(blocks), backend);
    } else throw new Error(`unknown pair ${pair}; choose from planted, real, sdxl, wan`);
  }
}

if (require.main === module) void benchCertificate();
