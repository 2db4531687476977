/**
 * The projected Newton-CG solver against an independent float64 reference: the N-way box-constrained quadratic
 * built densely from the ΔW's and solved by projected coordinate descent (test/support/box-qp-reference.ts), on
 * every CPU backend, for 2, 3 and 4 inputs; its stopping rule and caps; degenerate layers; its loss against the
 * Adam recipe's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BackendName, selectBackend } from '../../src/core/merge/backends';
import { prepareBatch } from '../../src/core/merge/batch-tensors';
import { boxQuadratic, hessianDiagonal } from '../../src/core/merge/box-quadratic';
import { evaluateObjective, prepareLayer } from '../support/objective';
import { DEFAULT_ZIPLORA_SETTINGS, FactoredDelta } from '../../src/core/merge/types';
import { BatchSettings, LayerInput, LayerResult, solveBatch } from '../../src/core/merge/ziplora-solver';
import { solveAll } from '../support/solve-all';
import { denseQuadratic, isPositiveDefinite, projectedGradientInf, quadraticValue, solveBoxQp } from '../support/box-qp-reference';
import { asDelta, plantedLayer, sd15AttentionLayers } from '../support/planted';
import { denseLoss, disjointInputsLayer, randomDelta } from '../support/random-lora';

const newton = (lambda: number, stop: BatchSettings['newton'] = {}): BatchSettings => ({ solver: 'newton', steps: 100, lambda, learningRate: 0.01, newton: stop });
/** Tight enough that float32 has nothing left to give. */
const TIGHT = { gapFraction: 0, tolerance: 1e-7, maxIterations: 500, maxEvaluations: 5000 };

async function solve(backendName: BackendName, layers: readonly LayerInput[], settings: BatchSettings): Promise<LayerResult[]> {
  const results: LayerResult[] = [];
  await solveAll(await selectBackend(backendName), layers, settings, { onLayerSolved: (i, r) => (results[i] = r) });
  return results;
}

const coefficients = (r: LayerResult) => r.m.flatMap((m) => [...m]);
const pair = (content: FactoredDelta, style: FactoredDelta): LayerInput => ({ inputs: [content, style] });

// Small layers of real variety: unequal scales, unequal ranks, shared (in, r_c, r_s) with another out.
const layers: LayerInput[] = [
  pair(randomDelta(16, 12, 4, 1, 1.5), randomDelta(16, 12, 4, 2, 0.5)),
  pair(randomDelta(24, 16, 4, 3), randomDelta(24, 16, 4, 4)),
  pair(randomDelta(20, 8, 2, 5), randomDelta(20, 8, 6, 6)),
  pair(randomDelta(16, 5, 4, 7, 2), randomDelta(16, 5, 4, 8)),
];

// With λ > 0 the penalty's Hessian is indefinite; these layers keep Q positive definite at λ = 0.01 (checked
// below), so the box QP has one minimum and any method must find it.
const penalisedLayers: LayerInput[] = [
  pair(randomDelta(12, 16, 4, 3), randomDelta(12, 16, 4, 4)),
  pair(randomDelta(10, 12, 4, 1, 1.5), randomDelta(10, 12, 4, 2)),
  pair(randomDelta(12, 8, 3, 3), randomDelta(12, 8, 5, 4)),
  pair(randomDelta(12, 12, 6, 1), randomDelta(12, 12, 6, 2)),
];

// Three and four inputs: unequal ranks and scales; R² ≥ N·in keeps Q positive definite at λ = 0.01 (checked).
const manyInputLayers: LayerInput[] = [
  { inputs: [randomDelta(10, 12, 4, 41, 1.2), randomDelta(10, 12, 3, 42), randomDelta(10, 12, 4, 43, 0.6)] },
  { inputs: [randomDelta(12, 12, 4, 44), randomDelta(12, 12, 4, 45, 1.5), randomDelta(12, 12, 3, 46)] },
  { inputs: [randomDelta(8, 10, 3, 47), randomDelta(8, 10, 2, 48, 0.8), randomDelta(8, 10, 4, 49), randomDelta(8, 10, 3, 50, 1.3)] },
  { inputs: [randomDelta(10, 14, 4, 51), randomDelta(10, 14, 4, 52), randomDelta(10, 14, 4, 53), randomDelta(10, 14, 4, 54, 2)] },
];

for (const backendName of ['wasm', 'cpu'] as const) {
  for (const [lambda, cases] of [[0, layers], [0.01, penalisedLayers], [0, manyInputLayers], [0.01, manyInputLayers]] as const) {
    const counts = [...new Set(cases.map((l) => l.inputs.length))].join(' and ');
    test(`${backendName}, λ = ${lambda}, ${counts} inputs: the solver reaches the dense float64 box-QP optimum to 1e-6 relative`, async () => {
      const results = await solve(backendName, cases, newton(lambda, TIGHT));
      cases.forEach((layer, i) => {
        const q = denseQuadratic(layer.inputs, lambda);
        // λ = 0: convex, one optimal value. λ > 0: Q must be positive definite for the optimum to be unique.
        if (lambda > 0) assert.ok(isPositiveDefinite(q), `layer ${i}: Q is not positive definite; choose another layer`);
        const reference = solveBoxQp(q);
        assert.ok(projectedGradientInf(q, reference) < 1e-12, `layer ${i}: the reference did not converge`);
        const optimum = quadraticValue(q, reference);
        // The dense quadratic is the objective as docs/merge-method.md §2 writes it.
        const n = layer.inputs[0].inFeatures;
        const asWritten = denseLoss(layer.inputs, layer.inputs.map((_, k) => reference.subarray(k * n, (k + 1) * n)), lambda).loss;
        assert.ok(Math.abs(asWritten - optimum) <= 1e-12 * optimum, `layer ${i}: quadratic ${optimum} vs loss ${asWritten}`);
        const reached = quadraticValue(q, coefficients(results[i]));
        assert.ok((reached - optimum) / optimum <= 1e-6, `layer ${i}: ${reached} vs optimum ${optimum} (relative ${(reached - optimum) / optimum})`);
        assert.ok(results[i].converged, `layer ${i} did not converge`);
        for (const v of coefficients(results[i])) assert.ok(v >= 0 && v <= 1, `coefficient ${v} outside the box`);
      });
    });
  }
}

test('stops on convergence: an easy layer takes fewer evaluations than a hard one, and the caps hold', async () => {
  // Easy: content and style read disjoint inputs, so the optimum m = 1 is where the solver starts.
  const easy = disjointInputsLayer(11, 12);
  const [solvedEasy, solvedHard] = await solve('wasm', [easy, layers[1]], newton(0));
  assert.ok(solvedEasy.converged && solvedHard.converged);
  assert.ok(solvedEasy.evaluations < solvedHard.evaluations, `easy ${solvedEasy.evaluations} vs hard ${solvedHard.evaluations} evaluations`);
  assert.ok(solvedHard.evaluations < 100, `the hard layer used the whole budget (${solvedHard.evaluations})`);
  assert.equal(solvedHard.losses.length, solvedHard.iterations + 1);
  const [capped] = await solve('wasm', [layers[1]], newton(0, { gapFraction: 0, tolerance: 1e-12, maxEvaluations: 7 }));
  assert.ok(capped.evaluations <= 7 && !capped.converged, `evaluations ${capped.evaluations}, converged ${capped.converged}`);
  const [iterationCapped] = await solve('wasm', [layers[1]], newton(0, { gapFraction: 0, tolerance: 1e-12, maxIterations: 1, maxEvaluations: 1000 }));
  assert.ok(iterationCapped.iterations === 1 && !iterationCapped.converged, `iterations ${iterationCapped.iterations}`);
  const [tight] = await solve('wasm', [layers[1]], newton(0, TIGHT));
  assert.ok(iterationCapped.projectedGradientNorm > tight.projectedGradientNorm, 'one iteration is not as converged as many');
  // Seven evaluations leave CG no budget, and a search along what is left may find nothing: cap or stalled.
  assert.ok(capped.stop === 'cap' || capped.stop === 'stalled', capped.stop);
  assert.equal(iterationCapped.stop, 'cap');
});

test('progress is reported after every iteration, towards settings.steps', async () => {
  const backend = await selectBackend('wasm');
  const seen: number[] = [];
  const [result] = await solveBatch(backend, [layers[1]], newton(0, TIGHT), async (step) => void seen.push(step));
  assert.ok(seen.length >= result.iterations, `${seen.length} reports for ${result.iterations} iterations`);
  assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]), `not monotone: ${seen.join(', ')}`);
  assert.equal(seen[seen.length - 1], 100);
  await assert.rejects(
    solveBatch(backend, [layers[1]], newton(0, TIGHT), async () => {
      throw new Error('cancelled');
    }),
    /cancelled/,
  );
});

test('degenerate layers: zero columns, a zero LoRA, identical content and style', async () => {
  const base = randomDelta(16, 12, 4, 21);
  const other = randomDelta(16, 12, 4, 22);
  // Columns 0…3 read by neither LoRA: no fidelity term sees them; the penalty alone decides (λ > 0 drops one).
  const zeroColumns = pair({ ...base, down: base.down.map((v, k) => (k % 16 < 4 ? 0 : v)) }, { ...other, down: other.down.map((v, k) => (k % 16 < 4 ? 0 : v)) });
  const zeroContent = pair({ ...base, down: new Float32Array(base.down.length) }, other);
  const identical = pair(base, base);
  for (const lambda of [0, 0.01]) {
    const results = await solve('wasm', [zeroColumns, zeroContent, identical], newton(lambda, TIGHT));
    for (const r of results) for (const v of coefficients(r)) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `λ ${lambda}: coefficient ${v}`);
    // Identical LoRAs with a penalty: m_c = m_s is a saddle the symmetric start cannot leave (a trap of docs/merge-method.md §2:
    // the penalty alone cannot pick a winner), so the optimum is checked only without it.
    const checked = lambda === 0 ? [zeroColumns, zeroContent, identical] : [zeroColumns, zeroContent];
    checked.forEach((layer, i) => {
      const q = denseQuadratic(layer.inputs, lambda);
      const optimum = quadraticValue(q, solveBoxQp(q));
      const reached = quadraticValue(q, coefficients(results[i]));
      assert.ok(reached - optimum <= 1e-6 * Math.max(optimum, 1e-3), `λ ${lambda}, layer ${i}: ${reached} vs ${optimum}`);
    });
    const [columns, , same] = results;
    for (let j = 0; j < 4; j++) {
      if (lambda === 0) assert.ok(columns.m[0][j] === 1 && columns.m[1][j] === 1, 'a column nobody reads stays where it started');
      else assert.ok(Math.min(columns.m[0][j], columns.m[1][j]) === 0, `the penalty drops one of an unread column's coefficients (${columns.m[0][j]}, ${columns.m[1][j]})`);
    }
    if (lambda === 0) {
      // Identical LoRAs: only m_c + m_s matters, and from the symmetric start the split stays symmetric.
      for (let j = 0; j < 16; j++) assert.ok(Math.abs(same.m[0][j] - same.m[1][j]) < 1e-6, `column ${j}: ${same.m[0][j]} vs ${same.m[1][j]}`);
    }
  }
});

test('planted pair at the defaults: every layer ends at a loss ≤ the Adam recipe’s', async () => {
  const specs = sd15AttentionLayers(8).filter((_, i) => i % 2 === 0);
  const inputs = specs.map((spec, i) => {
    const t = plantedLayer(spec, 900 + i);
    return pair(asDelta(t.content, spec), asDelta(t.style, spec));
  });
  const { lambda, learningRate, steps } = DEFAULT_ZIPLORA_SETTINGS;
  const common = { lambda, learningRate, steps };
  const [byNewton, byAdam] = [await solve('wasm', inputs, { ...common, solver: 'newton' }), await solve('wasm', inputs, { ...common, solver: 'adam' })];
  inputs.forEach((layer, i) => {
    // Both in float64 from the coefficients (objective.ts), so float32 loss rounding cannot decide.
    const prepared = prepareLayer(layer);
    const loss = (r: LayerResult) => evaluateObjective(prepared, r.m, lambda).loss;
    assert.ok(loss(byNewton[i]) <= loss(byAdam[i]), `${specs[i].canonical}: Newton ${loss(byNewton[i])} vs Adam ${loss(byAdam[i])}`);
    assert.ok(byNewton[i].evaluations <= 100);
  });
});

test('a solved batch leaves no tensor behind on the backend, with either solver', async () => {
  const backend = await selectBackend('wasm');
  for (const solver of ['newton', 'adam'] as const) {
    const before = backend.tf.memory().numTensors;
    await solveBatch(backend, [layers[1], pair(randomDelta(24, 9, 4, 31), randomDelta(24, 9, 4, 32))], { ...newton(0.03), solver, steps: 10 }, async () => {});
    assert.equal(backend.tf.memory().numTensors, before, `${solver} left ${backend.tf.memory().numTensors - before} tensors`);
  }
});

test('the Jacobi diagonal is the diagonal of the dense quadratic, for 2 to 4 inputs of unequal ranks and scales', async () => {
  const { tf } = await selectBackend('wasm');
  const layers: LayerInput[] = [
    { inputs: [randomDelta(9, 11, 3, 401), randomDelta(9, 11, 5, 402, 1.7)] },
    { inputs: [randomDelta(7, 12, 2, 403), randomDelta(7, 12, 4, 404, 0.6), randomDelta(7, 12, 3, 405)] },
    { inputs: [randomDelta(6, 8, 1, 406), randomDelta(6, 8, 2, 407), randomDelta(6, 8, 2, 408, 2.5), randomDelta(6, 8, 3, 409)] },
  ];
  for (const layer of layers) {
    const prepared = prepareBatch(tf, [layer], 0.03);
    const q = boxQuadratic(prepared);
    const diagonal = hessianDiagonal(q);
    const values = (await diagonal.data()) as Float32Array;
    tf.dispose(diagonal);
    q.dispose();
    prepared.dispose();
    const dense = denseQuadratic(layer.inputs, 0.03);
    for (let p = 0; p < dense.size; p++) {
      const expected = dense.hessian[p * dense.size + p];
      assert.ok(Math.abs(values[p] - expected) <= 1e-5 * Math.abs(expected) + 1e-9, `coefficient ${p}: ${values[p]} vs ${expected}`);
    }
  }
});
