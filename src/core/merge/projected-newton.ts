/**
 * A projected Newton-CG solver for the box-constrained quadratic of box-quadratic.ts (Bertsekas' projected
 * Newton with an ε-active set; the Newton system on the free coefficients solved inexactly by Jacobi-
 * preconditioned CG). Each iteration: coefficients at (or within ε of) a bound whose gradient points out of the
 * box are held by a scaled gradient step; CG on the others uses one Hessian-vector product (the cost of a
 * gradient) per iteration and stops at a relative residual that tightens as the iterate converges; then a
 * projected backtracking search along P(x + t·d). For a quadratic, L(x + s) − L(x) = ½·(g + g')ᵀs exactly,
 * so the sufficient-decrease test needs no difference of two float32 losses. It stops when the optimality
 * certificate of optimality-gap.ts proves L(x) within `gapFraction` of the box's minimum (also checked between
 * the projected-gradient steps), when ‖P(x − ∇L) − x‖
 * falls to `tolerance` × its value at the start, or at the caps. All layers of a batch run together, each with
 * its own scalars ([B, 1, 1] tensors) and its own stop; a layer that has stopped is left unchanged.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { Tensor3D } from './batch-tensors';
import { BoxQuadratic, hessianDiagonal, hessianProduct, lossAndGradientAt, perLayer, projectedGradientNorm } from './box-quadratic';
import { certified, DEFAULT_GAP_FRACTION, optimalityGap } from './optimality-gap';
import type { StopReason } from './types';

export interface NewtonSettings {
  /** Stop when the certificate (an upper bound on L(x) − L*) ≤ gapFraction × L(x); 0 turns it off. */
  readonly gapFraction: number;
  /** Stop when ‖P(x − ∇L) − x‖ ≤ tolerance × its value at the start. */
  readonly tolerance: number;
  /** Caps on Newton iterations and on gradient-equivalents (gradients + Hessian products) per layer. */
  readonly maxIterations: number;
  readonly maxEvaluations: number;
}

/**
 * Stop once the certificate proves L within 2 % of the optimum (checked after every Newton iteration and every
 * 4 projected-gradient steps), at 10⁻⁴ of the starting projected-gradient norm (the test that remains where
 * the certificate is loose: λ > 0 with many coefficients inside the box), or after 50
 * iterations or 100 gradient-equivalents (the budget of Adam's 100 steps), whichever comes first. The one home of the Newton defaults: the solver, the
 * merged file's recipe and anything that describes or checks them import them from here.
 */
export const DEFAULT_NEWTON_SETTINGS: NewtonSettings = { gapFraction: DEFAULT_GAP_FRACTION, tolerance: 1e-4, maxIterations: 50, maxEvaluations: 100 };

/**
 * Per-layer limits for a solve along a λ path (lambda-path.ts): a layer's own evaluation cap (never above the
 * settings' cap), and the projected-gradient norm its tolerance is relative to, instead of the norm at its own
 * start — a warm start begins near the answer, and 10⁻⁴ of its small norm would ask for far more than a cold
 * solve does.
 */
export interface NewtonLimits {
  readonly maxEvaluations?: ArrayLike<number>;
  readonly referenceNorm?: ArrayLike<number>;
  /** Stop at this × referenceNorm instead of the settings' tolerance. */
  readonly tolerance?: number;
  /** Projected-gradient steps per iteration (default GRADIENT_PROJECTION_STEPS). */
  readonly projectionSteps?: number;
}

export interface NewtonResult {
  /** [B, N, in]; the caller disposes it. */
  readonly x: Tensor3D;
  /** Per layer: the loss at the start and after each of its iterations. */
  readonly losses: Float32Array[];
  readonly iterations: Int32Array;
  /** Gradient-equivalents used: gradient evaluations plus Hessian-vector products. */
  readonly evaluations: Int32Array;
  readonly projectedGradientNorm: Float32Array;
  /** ‖P(x − ∇L) − x‖ at the start, per layer. */
  readonly startNorm: Float32Array;
  /** The certificate at the result, per layer: L(x) − L* ≤ gap. */
  readonly gap: Float32Array;
  readonly stop: StopReason[];
  /** Stopped on the certificate or the tolerance. */
  readonly converged: boolean[];
}

/** CG iterations per Newton step at most; the forcing term usually stops it far earlier. */
const MAX_CG_ITERATIONS = 25;
const MAX_BACKTRACKS = 10;
/** Projected-gradient steps before each Newton step. */
const GRADIENT_PROJECTION_STEPS = 20;
const ARMIJO = 1e-4;
/** Largest width of the ε-active set. */
const EPSILON_MAX = 1e-3;

const hostMask = (tf: typeof TF, flags: readonly boolean[]) => tf.tensor3d(flags.map((f) => (f ? 1 : 0)), [flags.length, 1, 1]);

async function read(tensor: TF.Tensor): Promise<Float32Array> {
  return (await tensor.data()) as Float32Array;
}

/** Jacobi preconditioner, floored so that columns with (almost) no curvature take large, projected steps. */
function jacobiDiagonal(q: BoxQuadratic): Tensor3D {
  const { tf } = q;
  return tf.tidy(() => {
    const d = hessianDiagonal(q);
    const largest = tf.max(d, [1, 2], true);
    return tf.maximum(d, tf.add(tf.mul(largest, 1e-6), 1e-30)) as Tensor3D;
  });
}

/**
 * Solves from `start` ([B, N, in], inside the box; not disposed). `onIteration(done)` is awaited after every
 * Newton iteration (it may throw to cancel); `done` ∈ [0, 1] is the batch's mean share of its work: 1 for a
 * layer that has stopped, else the larger of its shares of the evaluation and iteration caps.
 */
export async function solveProjectedNewton(q: BoxQuadratic, start: Tensor3D, settings: NewtonSettings, onIteration: (done: number) => Promise<void>, limits: NewtonLimits = {}): Promise<NewtonResult> {
  const { tf, size: B } = q;
  const keep: TF.Tensor[] = [];
  const own = <T extends TF.Tensor>(t: T) => (keep.push(t), t);
  const evaluations = new Int32Array(B);
  const iterations = new Int32Array(B);
  const count = (who: readonly boolean[]) => who.forEach((on, i) => on && evaluations[i]++);
  const diagonal = own(jacobiDiagonal(q));
  let x = tf.clone(start);
  let { loss, gradient } = lossAndGradientAt(q, x);
  const all = new Array<boolean>(B).fill(true);
  count(all);
  const startNorm = await read(own(projectedGradientNorm(q, x, gradient)));
  const gap = Float32Array.from(await read(own(optimalityGap(tf, x, gradient, q.penaltyScale))));
  const initialNorm = limits.referenceNorm ? Float32Array.from(limits.referenceNorm) : startNorm;
  const cap = Array.from({ length: B }, (_, i) => Math.min(settings.maxEvaluations, limits.maxEvaluations?.[i] ?? Infinity));
  const norm = Float32Array.from(startNorm);
  const firstLoss = await read(loss);
  const losses: number[][] = Array.from({ length: B }, (_, i) => [firstLoss[i]]);
  const tolerance = limits.tolerance ?? settings.tolerance;
  const stop: (StopReason | undefined)[] = Array.from(startNorm, (v, i) =>
    certified(gap[i], firstLoss[i], settings.gapFraction) ? 'certificate' : !(v > 0) || v <= tolerance * initialNorm[i] ? 'tolerance' : undefined,
  );
  const running = () => stop.map((s, i) => s === undefined && iterations[i] < settings.maxIterations && evaluations[i] < cap[i]);
  try {
    while (running().some(Boolean)) {
      const active = running();
      // One evaluation of the budget is kept for the search that ends the iteration.
      const withinBudget = (i: number) => evaluations[i] < cap[i] - 1;
      const projected = await projectedGradientSteps(q, x, gradient, loss, diagonal, active, withinBudget, count, limits.projectionSteps ?? GRADIENT_PROJECTION_STEPS, settings.gapFraction);
      tf.dispose([x, gradient, loss]);
      ({ x, gradient, loss } = projected);
      // A layer the certificate proved between projected-gradient steps ends here, before Newton's step.
      projected.certified.forEach((proof, i) => {
        if (!proof) return;
        active[i] = false;
        iterations[i]++;
        losses[i].push(proof.loss);
        gap[i] = proof.gap;
        stop[i] = 'certificate';
      });
      // Where every running layer was proven there, Newton's step has nothing to move.
      let stalled: readonly boolean[] = [];
      if (active.some(Boolean)) {
        const step = await newtonDirection(q, x, gradient, diagonal, active, norm, initialNorm, withinBudget, count);
        const accepted = await lineSearch(q, x, gradient, loss, step, active, (i) => evaluations[i] < cap[i], count);
        step.dispose();
        tf.dispose([x, gradient, loss]);
        ({ x, gradient, loss, stalled } = accepted);
      }
      const normTensor = projectedGradientNorm(q, x, gradient);
      const gapTensor = optimalityGap(tf, x, gradient, q.penaltyScale);
      const [newNorm, newLoss, newGap] = await Promise.all([read(normTensor), read(loss), read(gapTensor)]);
      tf.dispose([normTensor, gapTensor]);
      projected.certified.forEach((proof, i) => proof && (norm[i] = newNorm[i]));
      active.forEach((on, i) => {
        if (!on) return;
        iterations[i]++;
        losses[i].push(newLoss[i]);
        norm[i] = newNorm[i];
        gap[i] = newGap[i];
        if (certified(gap[i], newLoss[i], settings.gapFraction)) stop[i] = 'certificate';
        else if (norm[i] <= tolerance * initialNorm[i]) stop[i] = 'tolerance';
        // A search that found no decrease: float32 has nothing left to give along this path; stop, unconverged.
        else if (stalled[i]) stop[i] = 'stalled';
      });
      const stillRunning = running();
      const shares = stillRunning.map((on, i) => (on ? Math.min(1, Math.max(evaluations[i] / cap[i], iterations[i] / settings.maxIterations)) : 1));
      await onIteration(shares.reduce((a, b) => a + b, 0) / B);
    }
    const stops = stop.map((s) => s ?? 'cap');
    return { x, losses: losses.map((l) => Float32Array.from(l)), iterations, evaluations, projectedGradientNorm: norm, startNorm, gap, stop: stops, converged: stops.map((s) => s === 'certificate' || s === 'tolerance') };
  } catch (error) {
    x.dispose();
    throw error;
  } finally {
    tf.dispose([gradient, loss, ...keep]);
  }
}

/** The ε-active set: coefficients at (or within ε of) a bound whose gradient points out of the box are held. */
function activeSet(q: BoxQuadratic, x: Tensor3D, gradient: Tensor3D, diagonal: Tensor3D): { free: Tensor3D; held: Tensor3D } {
  const { tf } = q;
  return tf.tidy(() => {
    const scaledStep = tf.sub(tf.clipByValue(tf.sub(x, tf.div(gradient, diagonal)), 0, 1), x);
    const epsilon = tf.minimum(tf.max(tf.abs(scaledStep), [1, 2], true), EPSILON_MAX);
    const atLower = tf.logicalAnd(tf.lessEqual(x, epsilon), tf.greater(gradient, 0));
    const atUpper = tf.logicalAnd(tf.greaterEqual(x, tf.sub(1, epsilon)), tf.less(gradient, 0));
    const heldMask = tf.cast(tf.logicalOr(atLower, atUpper), 'float32');
    return { free: tf.sub(1, heldMask) as Tensor3D, held: tf.mul(heldMask, tf.neg(tf.div(gradient, diagonal))) as Tensor3D };
  });
}

/** Preconditioned CG's iterate on the free coefficients, per layer of the batch. */
interface CgState {
  readonly solution: Tensor3D;
  readonly residual: Tensor3D;
  readonly preconditioned: Tensor3D;
  readonly direction: Tensor3D;
  readonly rz: Tensor3D;
}

const disposeCg = (tf: typeof TF, state: CgState) => tf.dispose([state.solution, state.residual, state.preconditioned, state.direction, state.rz]);

/**
 * One PCG step for the layers in `runMask`; `flags` holds two values per layer: whether CG stops for non-positive curvature or a
 * step that leaves the box, and the new rz. Returns new tensors, disposes none.
 */
function cgStep(q: BoxQuadratic, x: Tensor3D, cg: CgState, free: Tensor3D, diagonal: Tensor3D, runMask: TF.Tensor, first: boolean): { state: CgState; flags: TF.Tensor } {
  const { tf } = q;
  const { solution, residual, preconditioned, direction, rz } = cg;
  return tf.tidy(() => {
    const product = tf.mul(hessianProduct(q, direction), free);
    const curvature = perLayer(tf, tf.mul(direction, product));
    const scale = perLayer(tf, tf.mul(tf.square(direction), diagonal));
    const negative = tf.cast(tf.lessEqual(curvature, tf.mul(scale, 1e-10)), 'float32');
    const positive = tf.mul(tf.sub(1, negative), runMask);
    const alpha = tf.mul(tf.div(rz, tf.where(tf.greater(curvature, 0), curvature, tf.onesLike(curvature))), positive);
    // Non-positive curvature on the first CG step: go as far as the box allows along −D⁻¹g.
    const farSide = tf.div(direction, tf.maximum(tf.max(tf.abs(direction), [1, 2], true), 1e-30));
    const takeFarSide = first ? tf.mul(negative, runMask) : tf.zerosLike(negative);
    const extended = tf.add(tf.add(solution, tf.mul(alpha, direction)), tf.mul(takeFarSide, farSide));
    // A CG iterate that leaves the box is not taken (after the first): the projection of a long step along
    // the Hessian's flat directions is no Newton step. The search continues from the last one inside.
    const reached = tf.add(x, extended);
    const violation = tf.max(tf.mul(tf.add(tf.relu(tf.neg(reached)), tf.relu(tf.sub(reached, 1))), free), [1, 2], true);
    const leaves = first ? tf.zerosLike(violation) : tf.mul(tf.cast(tf.greater(violation, 1e-6), 'float32'), runMask);
    const newSolution = tf.add(extended, tf.mul(leaves, tf.sub(solution, extended)));
    const newResidual = tf.sub(residual, tf.mul(alpha, product));
    const newPreconditioned = tf.div(newResidual, diagonal);
    const newRz = perLayer(tf, tf.mul(newResidual, newPreconditioned));
    const beta = tf.div(newRz, tf.where(tf.greater(rz, 0), rz, tf.onesLike(rz)));
    const newDirection = tf.add(newPreconditioned, tf.mul(beta, direction));
    // Layers that stop keep their direction, residual and rz unchanged.
    const blend = (a: TF.Tensor, b: TF.Tensor) => tf.add(b, tf.mul(positive, tf.sub(a, b))) as Tensor3D;
    return {
      state: {
        solution: newSolution as Tensor3D,
        residual: blend(newResidual, residual),
        preconditioned: blend(newPreconditioned, preconditioned),
        direction: blend(newDirection, direction),
        rz: blend(newRz, rz),
      },
      flags: tf.concat([tf.reshape(tf.maximum(negative, leaves), [-1, 1]), tf.reshape(newRz, [-1, 1])], 1),
    };
  });
}

/**
 * The projected Newton direction: −D⁻¹g on the ε-active coefficients, truncated PCG on H_FF·d = −g_F on the
 * free ones (a direction of non-positive curvature found first is followed to the box's far side instead).
 */
async function newtonDirection(
  q: BoxQuadratic,
  x: Tensor3D,
  gradient: Tensor3D,
  diagonal: Tensor3D,
  active: readonly boolean[],
  norm: Float32Array,
  initialNorm: Float32Array,
  withinBudget: (layer: number) => boolean,
  count: (who: readonly boolean[]) => void,
): Promise<Tensor3D> {
  const { tf } = q;
  const { free, held } = activeSet(q, x, gradient, diagonal);
  // Forcing term: a loose solve far from the solution, a tight one near it (superlinear convergence).
  const forcing = Array.from(norm, (v, i) => Math.min(0.5, Math.sqrt(initialNorm[i] > 0 ? v / initialNorm[i] : 0)));
  const residual = tf.tidy(() => tf.mul(tf.neg(gradient), free) as Tensor3D);
  const preconditioned = tf.div(residual, diagonal) as Tensor3D;
  let cg: CgState = { solution: tf.zerosLike(residual), residual, preconditioned, direction: tf.clone(preconditioned), rz: tf.tidy(() => perLayer(tf, tf.mul(residual, preconditioned))) };
  const rz0 = await read(cg.rz);
  const cgRunning = active.map((on, i) => on && rz0[i] > 0);
  try {
    for (let k = 0; k < MAX_CG_ITERATIONS && cgRunning.some(Boolean); k++) {
      const stillAllowed = cgRunning.map((on, i) => on && withinBudget(i));
      if (!stillAllowed.some(Boolean)) break;
      count(stillAllowed);
      const runMask = hostMask(tf, stillAllowed);
      const next = cgStep(q, x, cg, free, diagonal, runMask, k === 0);
      runMask.dispose();
      disposeCg(tf, cg);
      cg = next.state;
      const flags = await read(next.flags);
      next.flags.dispose();
      stillAllowed.forEach((on, i) => {
        if (!on) return;
        const negative = flags[2 * i] > 0;
        const relative = Math.sqrt(Math.max(0, flags[2 * i + 1]) / rz0[i]);
        if (negative || relative <= forcing[i]) cgRunning[i] = false;
      });
      for (let i = 0; i < cgRunning.length; i++) if (!stillAllowed[i]) cgRunning[i] = false;
    }
    const solution = cg.solution;
    return tf.tidy(() => tf.add(tf.mul(solution, free), held) as Tensor3D);
  } finally {
    disposeCg(tf, cg);
    tf.dispose([free, held]);
  }
}

/** Between projected-gradient steps the certificate is read back every this many steps (one read-back each). */
const CERTIFICATE_EVERY = 4;

/** A layer the certificate proved during the projected-gradient steps: its certificate and loss there. */
interface Proof {
  readonly gap: number;
  readonly loss: number;
}

/**
 * Scaled projected-gradient steps with an exact line search: d = P(x − D⁻¹g) − x keeps x + t·d in the box for
 * t ∈ [0, 1], and on a quadratic the best t is −gᵀd / dᵀQd; g and L follow from Q·d, one product per step.
 * They move many coefficients onto their bounds at once, so that the Newton step works on the right face. With
 * `gapFraction` > 0 the certificate is checked every CERTIFICATE_EVERY steps, and a layer it proves stops there.
 */
async function projectedGradientSteps(
  q: BoxQuadratic,
  x: Tensor3D,
  gradient: Tensor3D,
  loss: Tensor3D,
  diagonal: Tensor3D,
  active: readonly boolean[],
  withinBudget: (layer: number) => boolean,
  count: (who: readonly boolean[]) => void,
  steps: number,
  gapFraction: number,
) {
  const { tf } = q;
  const moving = [...active];
  const proven: (Proof | undefined)[] = active.map(() => undefined);
  let state = { x: tf.clone(x), gradient: tf.clone(gradient), loss: tf.clone(loss) };
  for (let k = 0; k < steps; k++) {
    const stepping = moving.map((on, i) => on && withinBudget(i));
    if (!stepping.some(Boolean)) break;
    count(stepping);
    const mask = hostMask(tf, stepping);
    const next = tf.tidy(() => {
      const d = tf.sub(tf.clipByValue(tf.sub(state.x, tf.div(state.gradient, diagonal)), 0, 1), state.x);
      const product = hessianProduct(q, d as Tensor3D);
      const curvature = perLayer(tf, tf.mul(d, product));
      const slope = perLayer(tf, tf.mul(state.gradient, d));
      const best = tf.where(tf.greater(curvature, 0), tf.minimum(tf.div(tf.neg(slope), tf.where(tf.greater(curvature, 0), curvature, tf.onesLike(curvature))), 1), tf.onesLike(curvature));
      const t = tf.mul(tf.maximum(best, 0), mask);
      return {
        x: tf.clipByValue(tf.add(state.x, tf.mul(t, d)), 0, 1) as Tensor3D,
        gradient: tf.add(state.gradient, tf.mul(t, product)) as Tensor3D,
        loss: tf.add(state.loss, tf.add(tf.mul(t, slope), tf.mul(tf.mul(tf.square(t), curvature), 0.5))) as Tensor3D,
      };
    });
    tf.dispose([state.x, state.gradient, state.loss, mask]);
    state = next;
    if (gapFraction > 0 && (k + 1) % CERTIFICATE_EVERY === 0 && k + 1 < steps) {
      const gapTensor = optimalityGap(tf, state.x, state.gradient, q.penaltyScale);
      const [gaps, values] = await Promise.all([read(gapTensor), read(state.loss)]);
      gapTensor.dispose();
      stepping.forEach((on, i) => {
        if (on && certified(gaps[i], values[i], gapFraction)) {
          moving[i] = false;
          proven[i] = { gap: gaps[i], loss: values[i] };
        }
      });
    }
  }
  return { ...state, certified: proven };
}

interface Accepted {
  readonly x: Tensor3D;
  readonly gradient: Tensor3D;
  readonly loss: Tensor3D;
  /** No step along the direction decreased L. */
  readonly stalled: boolean[];
}

/** Backtracking from t = 1 along P(x + t·d) until ½·(g + g')ᵀs ≤ σ·gᵀs; returns new tensors. */
async function lineSearch(
  q: BoxQuadratic,
  x: Tensor3D,
  gradient: Tensor3D,
  loss: Tensor3D,
  direction: Tensor3D,
  active: readonly boolean[],
  withinBudget: (layer: number) => boolean,
  count: (who: readonly boolean[]) => void,
): Promise<Accepted> {
  const { tf, size: B } = q;
  const searching = [...active];
  const stalled = new Array<boolean>(B).fill(false);
  const t = Array.from(active, () => 1);
  let best = { x: tf.clone(x), gradient: tf.clone(gradient), loss: tf.clone(loss) };
  for (let trial = 0; trial < MAX_BACKTRACKS; trial++) {
    // A layer out of budget keeps its last point (it stops, unconverged, at the cap).
    searching.forEach((on, i) => (searching[i] = on && withinBudget(i)));
    if (!searching.some(Boolean)) break;
    count(searching);
    const steps = tf.tensor3d(t.map((v, i) => (searching[i] ? v : 0)), [B, 1, 1]);
    const candidate = tf.tidy(() => {
      const trialX = tf.clipByValue(tf.add(x, tf.mul(steps, direction)), 0, 1) as Tensor3D;
      const { loss: trialLoss, gradient: trialGradient } = lossAndGradientAt(q, trialX);
      const s = tf.sub(trialX, x);
      const slope = perLayer(tf, tf.mul(gradient, s));
      const change = tf.mul(perLayer(tf, tf.mul(tf.add(gradient, trialGradient), s)), 0.5);
      const moved = perLayer(tf, tf.abs(s));
      return { x: trialX, gradient: trialGradient, loss: trialLoss, test: tf.concat([tf.reshape(change, [-1, 1]), tf.reshape(slope, [-1, 1]), tf.reshape(moved, [-1, 1])], 1) };
    });
    steps.dispose();
    const test = await read(candidate.test);
    candidate.test.dispose();
    const accept = searching.map((on, i) => on && test[3 * i + 2] > 0 && test[3 * i + 1] < 0 && test[3 * i] <= ARMIJO * test[3 * i + 1]);
    const mask = hostMask(tf, accept);
    const merged = tf.tidy(() => {
      const blend = (a: Tensor3D, b: Tensor3D) => tf.add(b, tf.mul(mask, tf.sub(a, b))) as Tensor3D;
      return { x: blend(candidate.x, best.x), gradient: blend(candidate.gradient, best.gradient), loss: blend(candidate.loss, best.loss) };
    });
    tf.dispose([mask, candidate.x, candidate.gradient, candidate.loss, best.x, best.gradient, best.loss]);
    best = merged;
    searching.forEach((on, i) => {
      if (!on) return;
      if (accept[i]) searching[i] = false;
      // Nothing moved, or the direction does not descend: no step will help.
      else if (test[3 * i + 2] === 0 || test[3 * i + 1] >= 0) {
        searching[i] = false;
        stalled[i] = true;
      } else t[i] /= 2;
    });
  }
  // Still searching after every backtrack (and not for want of budget): no step helps.
  searching.forEach((on, i) => on && withinBudget(i) && (stalled[i] = true));
  return { ...best, stalled };
}
