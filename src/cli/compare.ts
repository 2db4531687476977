/** `ziplora compare A B`: how the layers of two LoRAs pair up, and how much their columns overlap. */
import { parseArgs } from 'node:util';
import { renderComparisonText } from '../core/format/lora-text';
import { compareLoras } from '../core/lora/compare';
import { openLora, OpenLora } from '../core/lora/open-lora';
import { selectBackend } from '../core/merge/backends';
import { SafetensorsError } from '../core/safetensors/errors';
import { ProgressBar } from './progress';
import { UsageError } from './usage';

function parseCompareArgs(args: string[]): { first: string; second: string; json: boolean } {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length !== 2) throw new UsageError(`compare takes exactly two files A and B (got ${positionals.length})`);
  return { first: positionals[0], second: positionals[1], json: Boolean(values.json) };
}

function side(lora: OpenLora) {
  return { path: lora.file.path, layers: lora.lora.layers, format: lora.lora.formatName, baseModel: lora.lora.baseModel.label };
}

export async function runCompare(args: string[], out: (text: string) => void): Promise<void> {
  const options = parseCompareArgs(args);
  const first = await openLora(options.first);
  try {
    const second = await openLora(options.second);
    try {
      const bar = new ProgressBar('comparing layers');
      // Without the wasm backend the comparison still runs, in float64 JavaScript, only slower.
      const tf = await selectBackend('wasm').then((b) => b.tf, () => undefined);
      tf?.enableProdMode();
      const onProgress = (done: number, total: number) => bar.update(done, total, `${done}/${total} layers`);
      const comparison = await compareLoras(first, second, { onProgress, tf });
      bar.done();
      const { report, measures } = comparison;
      // Two LoRAs that do not fit together are one bad-input message, not a report of hundreds of refusals.
      if (report.incompatibility) throw new SafetensorsError(options.second, `cannot be paired with ${options.first}: ${report.incompatibility}`);
      if (options.json) {
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
        return;
      }
      out(renderComparisonText({ first: side(first), second: side(second) }, comparison));
    } finally {
      await second.file.close();
    }
  } finally {
    await first.file.close();
  }
}
