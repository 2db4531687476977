/** Readable text for the LoRA part of `inspect` and for `compare`. */
import { Comparison } from '../lora/compare';
import { LoraLayer } from '../lora/layer';
import { AdapterSummary } from '../lora/summary';
import { formatCount, formatNumber, renderTable } from './format';

/** How many names to list before "… and N more". */
const LIST_LIMIT = 10;

export function listSome(names: readonly string[], indent = '  '): string[] {
  const lines = names.slice(0, LIST_LIMIT).map((n) => `${indent}${n}`);
  if (names.length > LIST_LIMIT) lines.push(`${indent}… and ${formatCount(names.length - LIST_LIMIT)} more`);
  return lines;
}

const joinNumbers = (values: readonly (number | null)[]) => values.map((v) => (v === null ? 'none' : formatNumber(v))).join(', ');

export function renderAdapterText(summary: AdapterSummary): string {
  const { lora } = summary;
  if (!lora) return `Adapter      not a LoRA: ${summary.kind}${summary.advice ? `\nWhat to do   ${summary.advice}` : ''}`;
  const lines = [
    `LoRA         ${lora.format}`,
    `Base model   ${lora.baseModel.label} (${lora.baseModel.evidence.join('; ')})`,
    `Layers       ${formatCount(lora.layers.length)}`,
    `Ranks        ${joinNumbers(lora.ranks)}`,
    `Alphas       ${joinNumbers(lora.alphas)}`,
    `Scale        ${lora.scaleSources.slice(0, 3).join('; ')}${lora.scaleSources.length > 3 ? '; …' : ''}`,
  ];
  if (lora.adapterConfig) lines.push(`Config       ${lora.adapterConfig}`);
  if (lora.extraTensors.length) lines.push(`Other tensors (not LoRA factors; a merge leaves them out and lists them): ${formatCount(lora.extraTensors.length)}`, ...listSome(lora.extraTensors));
  if (lora.problems.length) lines.push(`Problems (${formatCount(lora.problems.length)} layers; a merge refuses this file):`, ...listSome(lora.problems.map((p) => `${p.module}: ${p.problem}`)));
  if (lora.layers.length) {
    const rows = lora.layers.map((l) => [
      l.module,
      l.kind === 'conv' && l.kernel ? `conv ${l.kernel[0]}×${l.kernel[1]}` : 'linear',
      `${l.out}×${l.in}`,
      String(l.rank),
      l.alpha === null ? '—' : formatNumber(l.alpha),
      formatNumber(l.scale),
      formatNumber(l.norm),
      formatNumber(l.effectiveRank),
    ]);
    lines.push('', renderTable(['module', 'kind', 'out×in', 'rank', 'alpha', 'scale', '‖ΔW‖', 'eff. rank'], rows, [false, false, true, true, true, true, true, true]));
  }
  return lines.join('\n');
}

export function describeSide(label: string, path: string, layers: readonly LoraLayer[], format: string, baseModel: string): string {
  const ranks = [...new Set(layers.map((l) => l.rank))].sort((a, b) => a - b).join(', ');
  return `${label}  ${path}\n   ${format}; ${baseModel}; ${formatCount(layers.length)} layers; rank ${ranks}`;
}

export interface CompareSides {
  readonly first: { readonly path: string; readonly layers: readonly LoraLayer[]; readonly format: string; readonly baseModel: string };
  readonly second: { readonly path: string; readonly layers: readonly LoraLayer[]; readonly format: string; readonly baseModel: string };
}

export function renderComparisonText(sides: CompareSides, comparison: Comparison): string {
  const { report, measures } = comparison;
  const lines = [
    describeSide('A', sides.first.path, sides.first.layers, sides.first.format, sides.first.baseModel),
    describeSide('B', sides.second.path, sides.second.layers, sides.second.format, sides.second.baseModel),
    '',
    `Pairing      ${formatCount(report.paired.length)} paired, ${formatCount(report.onlyInFirst.length)} only in A, ${formatCount(report.onlyInSecond.length)} only in B, ${formatCount(report.refused.length)} refused`,
  ];
  const fusedSplit = report.paired.filter((p) => p.split);
  if (fusedSplit.length) {
    lines.push(`Fused ↔ split ${formatCount(fusedSplit.length)} pairs join a fused module with its split parts in the other file (merged at the fused module):`);
    lines.push(...listSome(fusedSplit.map((p) => `${p.module} (${p.split === 'first' ? 'A' : 'B'}: ${(p.split === 'first' ? p.first : p.second).parts!.map((x) => x.layer.module.split('.').pop()).join(' + ')})`)));
  }
  const swapped = report.paired.filter((p) => p.halvesSwapped);
  if (swapped.length) {
    lines.push(`Swapped halves ${formatCount(swapped.length)} pairs join a module with its twin in the other naming whose up rows hold scale and shift in the other order (B read with the halves swapped):`);
    lines.push(...listSome(swapped.map((p) => `${p.module} ↔ ${p.second.module}`)));
  }
  if (report.refused.length) lines.push('Refused pairs:', ...listSome(report.refused.map((r) => `${r.module}: ${r.reason}`)));
  if (report.onlyInFirst.length) lines.push('Only in A (a merge copies them unchanged):', ...listSome(report.onlyInFirst.map((l) => l.module)));
  if (report.onlyInSecond.length) lines.push('Only in B (a merge copies them unchanged):', ...listSome(report.onlyInSecond.map((l) => l.module)));
  if (measures.length) {
    const byModule = new Map(report.paired.map((p) => [p.module, p]));
    const rows = measures.map((m) => {
      const pair = byModule.get(m.module);
      return [
        m.module,
        pair ? `${pair.first.outFeatures}×${pair.first.columns}` : '',
        pair ? `${pair.first.rank}/${pair.second.rank}` : '',
        formatNumber(m.firstNorm),
        formatNumber(m.secondNorm),
        formatNumber(m.meanAbsCosine),
      ];
    });
    lines.push('', 'Column cosine: mean over input columns j of |cos(ΔW_A[:,j], ΔW_B[:,j])| (0 = independent, 1 = aligned)');
    lines.push(renderTable(['module', 'out×in', 'rank A/B', '‖ΔW_A‖', '‖ΔW_B‖', 'mean |cos|'], rows, [false, true, true, true, true, true]));
    const cosines = measures.map((m) => m.meanAbsCosine).filter((c): c is number => c !== null);
    if (cosines.length) lines.push('', `Mean over ${formatCount(cosines.length)} layers: ${formatNumber(cosines.reduce((a, b) => a + b, 0) / cosines.length)}`);
  }
  return lines.join('\n');
}
