/** Summaries of a singular-value spectrum. */

export interface SpectrumSummary {
  /** ‖M‖_F² = Σσ². */
  readonly energy: number;
  /**
   * exp of the Shannon entropy of p_i = σ_i² / Σσ² (Roy & Vetterli's effective rank, on energies): 1 for a
   * rank-one matrix, k for k equal singular values, 0 for the zero matrix.
   */
  readonly effectiveRank: number;
  /** The fewest leading singular values that hold at least 90 % of the energy (0 for the zero matrix). */
  readonly rankFor90PercentEnergy: number;
  /** Share of the energy in the largest singular value (0 for the zero matrix). */
  readonly topEnergyShare: number;
}

export function summarizeSpectrum(singularValuesDescending: readonly number[]): SpectrumSummary {
  const energies = singularValuesDescending.map((s) => s * s);
  const energy = energies.reduce((a, b) => a + b, 0);
  if (!(energy > 0)) return { energy: 0, effectiveRank: 0, rankFor90PercentEnergy: 0, topEnergyShare: 0 };
  let entropy = 0;
  for (const e of energies) {
    const p = e / energy;
    if (p > 0) entropy -= p * Math.log(p);
  }
  let cumulative = 0;
  let rankFor90 = energies.length;
  for (let k = 0; k < energies.length; k++) {
    cumulative += energies[k];
    if (cumulative >= 0.9 * energy) {
      rankFor90 = k + 1;
      break;
    }
  }
  return { energy, effectiveRank: Math.exp(entropy), rankFor90PercentEnergy: rankFor90, topEnergyShare: energies[0] / energy };
}
