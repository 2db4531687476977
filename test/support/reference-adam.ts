/** A plain float64 Adam over the reference objective: the independent trajectory the backends must follow. */
import { evaluateObjective, PreparedLayer } from './objective';

export function referenceAdam(layer: PreparedLayer, steps: number, lambda: number, lr: number) {
  const n = layer.inFeatures;
  const m = [new Float64Array(n).fill(1), new Float64Array(n).fill(1)];
  const first = [new Float64Array(n), new Float64Array(n)];
  const second = [new Float64Array(n), new Float64Array(n)];
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const value = evaluateObjective(layer, m[0], m[1], lambda);
    losses.push(value.loss);
    const grads = [value.gradContent, value.gradStyle];
    for (let k = 0; k < 2; k++)
      for (let j = 0; j < n; j++) {
        const g = grads[k][j];
        first[k][j] = 0.9 * first[k][j] + 0.1 * g;
        second[k][j] = 0.999 * second[k][j] + 0.001 * g * g;
        const update = (lr * first[k][j]) / (1 - 0.9 ** t) / (Math.sqrt(second[k][j] / (1 - 0.999 ** t)) + 1e-8);
        m[k][j] = Math.min(1, Math.max(0, m[k][j] - update));
      }
  }
  losses.push(evaluateObjective(layer, m[0], m[1], lambda).loss);
  return { mContent: m[0], mStyle: m[1], losses };
}
