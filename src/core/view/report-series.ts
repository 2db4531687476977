/**
 * What the ZipLoRA tab draws, from a sidecar's N-way report (sidecar-report.ts): names for inputs and pairs, a
 * pair's values per layer, and the λ path with the λ the merge chose. Pure (the webview bundles it).
 * With two inputs the names are today's: content and style.
 */
import type { LayerReport, PairOverlap } from '../merge/layer-report';

export interface LambdaPointLike {
  readonly lambda: number;
  readonly error: number;
  readonly overlap: number;
}

/** "content", "style" for two inputs; "1 subject", "2 style", … (number and file stem) for more. */
export function inputLabels(files: readonly string[]): string[] {
  if (files.length === 2) return ['content', 'style'];
  return files.map((file, i) => `${i + 1} ${(file.split(/[\\/]/).pop() ?? file).replace(/\.safetensors$/i, '')}`);
}

/** Every pair of inputs that some layer reports, in the solver's order (0,1), (0,2) … (1,2) …. */
export function reportedPairs(layers: readonly LayerReport[]): [number, number][] {
  const seen = new Set<string>();
  const pairs: [number, number][] = [];
  for (const layer of layers) {
    for (const p of layer.pairs) {
      const key = `${p.a},${p.b}`;
      if (!seen.has(key)) seen.add(key), pairs.push([p.a, p.b]);
    }
  }
  return pairs.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

/** Per layer, the pair's value; null where the layer does not have both inputs. */
export function pairValues(layers: readonly LayerReport[], [a, b]: readonly [number, number], pick: (pair: PairOverlap) => number): (number | null)[] {
  return layers.map((layer) => {
    const pair = layer.pairs.find((p) => p.a === a && p.b === b);
    return pair ? pick(pair) : null;
  });
}

/** Per layer, an input's value (one of the per-input lists); null where the layer does not have the input. */
export function inputValues(layers: readonly LayerReport[], input: number, pick: (layer: LayerReport) => readonly number[]): (number | null)[] {
  return layers.map((layer) => {
    const k = layer.inputs.indexOf(input);
    return k < 0 ? null : pick(layer)[k];
  });
}

export interface LambdaSummary {
  /** The path in increasing λ: the sidecar's sum over layers, or the layers' paths summed here. */
  readonly points: readonly LambdaPointLike[];
  /** The λ most layers chose (the larger one on a tie), and how many did, of `layers` with a path. */
  readonly chosen: number;
  readonly chosenLayers: number;
  readonly layers: number;
  /** Σ over those layers of Σ_i direct error: the bound the rule keeps the chosen error under. */
  readonly directError: number;
}

/** The λ path of a merge run with λ auto; null when no layer has one (a merge at one λ). */
export function lambdaSummary(layers: readonly LayerReport[], fileCurve?: readonly LambdaPointLike[]): LambdaSummary | null {
  const withPath = layers.filter((l) => l.lambdaCurve?.length);
  if (!withPath.length) return null;
  let points = fileCurve?.length ? [...fileCurve] : undefined;
  if (!points) {
    // As the merge's own curve (lambda-path.ts): errors summed over layers, overlap their mean (a share).
    const sums = new Map<number, { error: number; overlap: number; layers: number }>();
    for (const layer of withPath) {
      for (const p of layer.lambdaCurve!) {
        const sum = sums.get(p.lambda) ?? { error: 0, overlap: 0, layers: 0 };
        sums.set(p.lambda, { error: sum.error + p.error, overlap: sum.overlap + p.overlap, layers: sum.layers + 1 });
      }
    }
    points = [...sums.entries()].map(([lambda, s]) => ({ lambda, error: s.error, overlap: s.overlap / s.layers }));
  }
  points.sort((x, y) => x.lambda - y.lambda);
  const counts = new Map<number, number>();
  for (const layer of withPath) counts.set(layer.lambda, (counts.get(layer.lambda) ?? 0) + 1);
  const [chosen, chosenLayers] = [...counts.entries()].reduce((best, entry) => (entry[1] > best[1] || (entry[1] === best[1] && entry[0] > best[0]) ? entry : best));
  const directError = withPath.reduce((sum, l) => sum + l.directErrors.reduce((a, b) => a + b, 0), 0);
  return { points, chosen, chosenLayers, layers: withPath.length, directError };
}
