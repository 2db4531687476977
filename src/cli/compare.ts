/** `ziplora compare A B`: how the layers of two LoRAs pair up, and how much their columns overlap. */
import { parseArgs } from 'node:util';
import { withFileComparison } from '../core/lora/compare-files';
import { ProgressBar } from './progress';
import { CLI_OPTIONS, UsageError } from './usage';

function parseCompareArgs(args: string[]): { first: string; second: string; json: boolean } {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CLI_OPTIONS.compare });
  if (positionals.length !== 2) throw new UsageError(`compare takes exactly two files A and B (got ${positionals.length})`);
  return { first: positionals[0], second: positionals[1], json: Boolean(values.json) };
}

export async function runCompare(args: string[], out: (text: string) => void): Promise<void> {
  const options = parseCompareArgs(args);
  const bar = new ProgressBar('comparing layers');
  const onProgress = (done: number, total: number) => bar.update(done, total, `${done}/${total} layers`);
  await withFileComparison(options.first, options.second, onProgress, ({ first, second, comparison, text }) => {
    bar.done();
    const { report, measures } = comparison;
    if (!options.json) {
      out(text);
      return;
    }
    const pairs = new Map(report.paired.map((p) => [p.module, p]));
    const moduleOf = (l: { module: string }) => l.module;
    out(JSON.stringify({
      first: { file: first.file.path, format: first.lora.formatName, baseModel: first.lora.baseModel, layers: first.lora.layers.length },
      second: { file: second.file.path, format: second.lora.formatName, baseModel: second.lora.baseModel, layers: second.lora.layers.length },
      pairing: {
        paired: report.paired.length,
        onlyInFirst: report.onlyInFirst.map(moduleOf),
        onlyInSecond: report.onlyInSecond.map(moduleOf),
        refused: report.refused.map((r) => ({ module: r.module, reason: r.reason })),
        fusedSplit: report.paired.filter((p) => p.split).map((p) => ({
          module: p.module,
          splitSide: p.split,
          parts: (p.split === 'first' ? p.first : p.second).parts!.map((x) => x.layer.module),
        })),
        halvesSwapped: report.paired.filter((p) => p.halvesSwapped).map((p) => ({ module: p.module, second: p.second.module })),
      },
      layers: measures.map((m) => {
        const pair = pairs.get(m.module)!;
        return {
          module: m.module,
          kind: pair.first.kind,
          in: pair.first.inFeatures,
          out: pair.first.outFeatures,
          rankFirst: pair.first.rank,
          rankSecond: pair.second.rank,
          normFirst: m.firstNorm,
          normSecond: m.secondNorm,
          meanAbsCosine: m.meanAbsCosine,
          columnsCompared: m.columnsCompared,
        };
      }),
    }, null, 2));
  });
}
