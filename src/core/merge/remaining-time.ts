/**
 * The time left of the optimisation, from the layers solved so far: each layer weighs by its work per step
 * (2·R²·in multiply-adds), so that small and large layers solved in any order give a fair estimate.
 */
export class RemainingTime {
  private readonly total: number;
  private done = 0;

  constructor(
    private readonly weights: readonly number[],
    private readonly startedAt: number,
  ) {
    this.total = weights.reduce((a, b) => a + b, 0);
  }

  solved(index: number): void {
    this.done += this.weights[index];
  }

  /** Milliseconds left at `now`, or undefined before any layer is solved. */
  estimate(now: number): number | undefined {
    if (this.done <= 0) return undefined;
    return Math.max(0, ((now - this.startedAt) * (this.total - this.done)) / this.done);
  }
}
