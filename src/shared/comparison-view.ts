/** The Compare panel's data, mapped from the core's comparison of two to eight files. */
import type { ManyFileComparison } from '../core/lora/compare-files';
import type { OpenLora } from '../core/lora/open-lora';
import type { ComparisonView } from './webview-protocol';

/** The comparison as plain data for the editor's comparison panel. */
export function comparisonView({ files, comparison }: ManyFileComparison): ComparisonView {
  const side = (lora: OpenLora) => ({ file: lora.file.path, format: lora.lora.formatName, baseModel: lora.lora.baseModel.label, layers: lora.lora.layers.length });
  return {
    files: files.map(side),
    pairs: comparison.pairs.map(({ a, b, comparison: { report, measures } }) => ({
      a,
      b,
      paired: report.paired.length,
      onlyInFirst: report.onlyInFirst.map((l) => l.module),
      onlyInSecond: report.onlyInSecond.map((l) => l.module),
      refused: report.refused.map((r) => ({ module: r.module, reason: r.reason })),
      layers: measures.map((m) => ({ module: m.module, meanAbsCosine: m.meanAbsCosine, normFirst: m.firstNorm, normSecond: m.secondNorm, columnsCompared: m.columnsCompared })),
    })),
    blocks: comparison.blocks.map(({ block, meanAbsCosine }) => ({ block, meanAbsCosine })),
  };
}
