/** A plain float64 Adam over the N-way reference objective: the independent trajectory the backends must follow. */
import { evaluateObjective, PreparedLayer } from './objective';

export function referenceAdam(layer: PreparedLayer, steps: number, lambda: number, lr: number) {
  const n = layer.inFeatures;
  const N = layer.ranks.length;
  const m = Array.from({ length: N }, () => new Float64Array(n).fill(1));
  const first = Array.from({ length: N }, () => new Float64Array(n));
  const second = Array.from({ length: N }, () => new Float64Array(n));
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const value = evaluateObjective(layer, m, lambda);
    losses.push(value.loss);
    for (let k = 0; k < N; k++)
      for (let j = 0; j < n; j++) {
        const g = value.gradients[k][j];
        first[k][j] = 0.9 * first[k][j] + 0.1 * g;
        second[k][j] = 0.999 * second[k][j] + 0.001 * g * g;
        const update = (lr * first[k][j]) / (1 - 0.9 ** t) / (Math.sqrt(second[k][j] / (1 - 0.999 ** t)) + 1e-8);
        m[k][j] = Math.min(1, Math.max(0, m[k][j] - update));
      }
  }
  losses.push(evaluateObjective(layer, m, lambda).loss);
  return { m, losses };
}
