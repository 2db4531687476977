/**
 * Small ZipLoRA sidecars for the view tests, without running a merge: an N-way report (format 2: inputs,
 * recipe, run, per-layer reports with every pair, coefficients `<module>.m.<i>`, and with λ auto each layer's
 * path, its chosen λ and the path summed over layers), and the two-way format 1 that merges wrote before
 * several inputs. Values come from a seeded generator and hang together: a layer's sparsity is its
 * coefficients' share below the threshold, errors grow and overlap falls along the λ path, the chosen λ follows
 * the documented rule (the largest λ whose error ≤ e(0) + ¼·(e_direct − e(0))).
 */
import type { LayerReport, PairOverlap } from '../../src/core/merge/layer-report';
import type { LambdaPoint, SidecarInput } from '../../src/core/view/sidecar-report';
import { writeSafetensors } from './write-safetensors';
import { seededRandom } from './seeded-random';

export const LAMBDA_PATH = [0, 0.01, 0.03, 0.1] as const;
export const THRESHOLD = 0.05;

export interface SidecarSpec {
  /** Input file names, in request order (2..8). */
  readonly inputs: readonly string[];
  /** Modules in the order the merge wrote them, and each one's column count. */
  readonly modules: readonly { readonly module: string; readonly columns: number }[];
  readonly seed?: number;
  /** λ auto: each layer gets a path and a chosen λ; the sidecar the summed path. Otherwise λ is this number. */
  readonly lambda?: number | 'auto';
  readonly weights?: readonly number[];
  /** Which inputs a module has (request indices); all by default. One input: the layer is copied. */
  readonly inputsOf?: (module: string) => readonly number[];
}

export interface BuiltSidecar {
  readonly inputs: readonly SidecarInput[];
  readonly recipe: Record<string, unknown>;
  readonly run: Record<string, unknown>;
  readonly layers: LayerReport[];
  readonly lambdaCurve?: LambdaPoint[];
  /** Per module with coefficients: m_i for each present input, in the layer's `inputs` order. */
  readonly coefficients: Map<string, Float32Array[]>;
}

/** Coefficients of one input: a share of columns near 0 (dropped), the rest spread over 0.3 … 1. */
function coefficients(columns: number, dropped: number, random: () => number): Float32Array {
  return Float32Array.from({ length: columns }, () => (random() < dropped ? random() * 0.03 : 0.3 + 0.7 * random()));
}

const share = (m: Float32Array) => m.filter((v) => v < THRESHOLD).length / m.length;

function lambdaPath(e0: number, direct: number, overlap: number, random: () => number): { curve: LambdaPoint[]; chosen: number } {
  // Error climbs from e(0) past the direct merge's by λ = 0.1 (as the measured pair does); overlap falls.
  const climb = (direct - e0) * (1.2 + random());
  const curve = LAMBDA_PATH.map((lambda) => ({ lambda, error: e0 + climb * (lambda / 0.1) ** 1.5, overlap: overlap * (1 - 0.6 * Math.sqrt(lambda / 0.1)) }));
  const bound = e0 + 0.25 * (direct - e0);
  const chosen = curve.filter((p) => p.error <= bound).reduce((best, p) => Math.max(best, p.lambda), 0);
  return { curve, chosen };
}

export function buildSidecar(spec: SidecarSpec): BuiltSidecar {
  const random = seededRandom(spec.seed ?? 17);
  const weights = spec.weights ?? spec.inputs.map(() => 1);
  const coefficientsByModule = new Map<string, Float32Array[]>();
  const sums = new Map<number, { error: number; overlap: number }>();
  // Values drift smoothly along the network (as real merges' do, block by block) with a little noise on top.
  const wave = (t: number, phase: number) => Math.sin(2 * Math.PI * (t + phase));
  const noise = (size: number) => size * (random() - 0.5);
  const layers = spec.modules.map(({ module, columns }, index): LayerReport => {
    const t = index / Math.max(1, spec.modules.length);
    const inputs = [...(spec.inputsOf?.(module) ?? spec.inputs.map((_, i) => i))];
    const method = inputs.length === 1 ? 'copy' : 'zip';
    const m = inputs.map((i) => coefficients(columns, method === 'copy' ? 0 : Math.min(0.9, Math.max(0.02, 0.35 + 0.2 * wave(1.5 * t, i / 3) + noise(0.1))), random));
    if (method === 'zip') coefficientsByModule.set(module, m);
    const directErrors = inputs.map((i) => (method === 'copy' ? 0 : 0.45 + 0.15 * wave(t, i / 4) + noise(0.06)));
    const errors = directErrors.map((d, k) => d * (0.3 + 0.1 * wave(2 * t, k / 5) + noise(0.06)));
    const pairs: PairOverlap[] = [];
    for (let x = 0; x < inputs.length; x++) {
      for (let y = x + 1; y < inputs.length; y++) {
        const overlapBefore = Math.max(0.02, 0.28 + 0.14 * wave(2 * t, (inputs[x] + inputs[y]) / 5) + noise(0.06));
        pairs.push({ a: inputs[x], b: inputs[y], meanAbsCosine: overlapBefore * (1.05 + noise(0.1)), overlapBefore, overlapAfter: overlapBefore * (0.15 + noise(0.08)) });
      }
    }
    const layer: LayerReport = {
      module,
      columns,
      method,
      inputs,
      weights: inputs.map((i) => weights[i]),
      errors,
      directErrors,
      sparsity: m.map(share),
      pairs,
      normRatio: method === 'copy' ? 1 : 0.6 + 0.4 * random(),
      steps: method === 'copy' ? 0 : 20 + Math.floor(30 * random()),
      loss: method === 'copy' ? 0 : random() * 0.1,
      lambda: typeof spec.lambda === 'number' ? spec.lambda : 0.03,
      ...(method === 'zip' ? { solver: 'newton' as const, converged: true, gap: random() * 1e-3, stop: 'certificate' as const } : {}),
    };
    if (spec.lambda !== 'auto' || method !== 'zip') return layer;
    const e0 = errors.reduce((a, b) => a + b, 0);
    const direct = directErrors.reduce((a, b) => a + b, 0);
    const after = pairs.reduce((a, p) => a + p.overlapAfter, 0) / pairs.length;
    const { curve, chosen } = lambdaPath(e0, direct, after * 2, random);
    for (const point of curve) {
      const sum = sums.get(point.lambda) ?? { error: 0, overlap: 0 };
      sums.set(point.lambda, { error: sum.error + point.error, overlap: sum.overlap + point.overlap });
    }
    // The report's errors are those at the chosen λ: Σ errors equals the path's error there.
    const atChosen = curve.find((p) => p.lambda === chosen)!;
    return { ...layer, lambda: chosen, lambdaCurve: curve, errors: errors.map((e) => (e * atChosen.error) / e0) };
  });
  const lambdaCurve = spec.lambda === 'auto' ? LAMBDA_PATH.map((lambda) => ({ lambda, ...sums.get(lambda)! })) : undefined;
  return {
    inputs: spec.inputs.map((file, i) => ({ file, sha256: (i + 1).toString(16).repeat(64), weight: weights[i] })),
    recipe: {
      inputs: spec.inputs.map((file, i) => ({ path: file, weight: weights[i] })),
      method: 'ziplora',
      solver: 'newton',
      lambda: spec.lambda ?? 0.03,
      steps: 100,
      learningRate: 0.01,
      columns: 'input',
      blocks: [],
      naming: 'first',
      dtype: 'auto',
      output: 'merged.safetensors',
    },
    run: { backend: 'wasm', device: 'cpu', tool: 'ziplora-vscode', version: '0.2.0', seconds: 12.5 },
    layers,
    ...(lambdaCurve ? { lambdaCurve } : {}),
    coefficients: coefficientsByModule,
  };
}

const f32 = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

/** Writes a format-2 sidecar of `built` (metadata as the spec of the format, tensors `<module>.m.<i>` and `.loss`). */
export async function writeFormat2Sidecar(file: string, built: BuiltSidecar, mergedFile = 'merged.safetensors'): Promise<void> {
  const tensors = built.layers.flatMap((layer) => {
    const m = built.coefficients.get(layer.module);
    if (!m) return [];
    return [
      ...m.map((values, k) => ({ name: `${layer.module}.m.${layer.inputs[k]}`, dtype: 'F32' as const, shape: [values.length], data: f32(values) })),
      { name: `${layer.module}.loss`, dtype: 'F32' as const, shape: [1], data: f32(new Float32Array([layer.loss])) },
    ];
  });
  await writeSafetensors(file, tensors, {
    ziplora_format: '2',
    ziplora_inputs: JSON.stringify(built.inputs),
    ziplora_recipe: JSON.stringify(built.recipe),
    ziplora_run: JSON.stringify(built.run),
    ziplora_report: JSON.stringify(built.layers),
    ziplora_merged_file: mergedFile,
    ...(built.lambdaCurve ? { ziplora_lambda_curve: JSON.stringify(built.lambdaCurve) } : {}),
  });
}

/** The two-way report format 1 stored, from a two-input built sidecar (what a merge before N inputs wrote). */
export function formatOneReport(built: BuiltSidecar): Record<string, unknown>[] {
  return built.layers.map((l) => {
    const [c, s] = built.coefficients.get(l.module)!;
    const on = (m: Float32Array, j: number) => m[j] >= THRESHOLD;
    let zipped = 0;
    let bothOn = 0;
    for (let j = 0; j < c.length; j++) {
      if (on(c, j) && on(s, j)) bothOn++;
      else if (on(c, j) || on(s, j)) zipped++;
    }
    const pair = l.pairs[0];
    return {
      module: l.module,
      columns: l.columns,
      contentError: l.errors[0],
      styleError: l.errors[1],
      directContentError: l.directErrors[0],
      directStyleError: l.directErrors[1],
      meanAbsCosine: pair.meanAbsCosine,
      overlapBefore: pair.overlapBefore,
      overlapAfter: pair.overlapAfter,
      sparsityContent: l.sparsity[0],
      sparsityStyle: l.sparsity[1],
      zipped: zipped / c.length,
      bothOn: bothOn / c.length,
      bothOff: (c.length - zipped - bothOn) / c.length,
      normRatio: l.normRatio,
      steps: l.steps,
      loss: l.loss,
      solver: 'newton',
      evaluations: 40,
      projectedGradientNorm: 1e-7,
      converged: true,
    };
  });
}

/** Writes a format-1 sidecar (two inputs, every layer zipped) as merges before several inputs did. */
export async function writeFormat1Sidecar(file: string, built: BuiltSidecar, mergedFile = 'merged.safetensors'): Promise<void> {
  if (built.inputs.length !== 2) throw new Error('format 1 holds exactly two inputs');
  const tensors = built.layers.flatMap((layer) => {
    const [c, s] = built.coefficients.get(layer.module)!;
    return [
      { name: `${layer.module}.m_content`, dtype: 'F32' as const, shape: [c.length], data: f32(c) },
      { name: `${layer.module}.m_style`, dtype: 'F32' as const, shape: [s.length], data: f32(s) },
      { name: `${layer.module}.loss`, dtype: 'F32' as const, shape: [1], data: f32(new Float32Array([layer.loss])) },
    ];
  });
  const recipe = { method: 'ziplora', solver: 'newton', steps: 100, lambda: 0.03, lr: 0.01, columns: 'input', directWeights: [1, 1], sparsityThreshold: THRESHOLD, rank: null, backend: 'wasm', device: 'cpu', tool: 'ziplora-vscode', version: '0.1.0' };
  const sources = built.inputs.map((input, i) => ({ role: i === 0 ? 'content' : 'style', file: input.file, sha256: input.sha256 }));
  await writeSafetensors(file, tensors, {
    ziplora_recipe: JSON.stringify(recipe),
    ziplora_sources: JSON.stringify(sources),
    ziplora_report: JSON.stringify(formatOneReport(built)),
    ziplora_merged_file: mergedFile,
  });
}
