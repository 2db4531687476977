/**
 * `ziplora compare A B [C …]`: how the layers of two to eight LoRAs pair up, and how much each pair's columns
 * overlap (per layer, and for three or more files per block). Two files print what they always have.
 */
import { parseArgs } from 'node:util';
import { withFileComparison, withManyFileComparison } from '../core/lora/compare-files';
import { fileLetter, MAX_COMPARED_FILES, MIN_COMPARED_FILES } from '../core/lora/compare-many';
import type { OpenLora } from '../core/lora/open-lora';
import { ProgressBar } from './progress';
import { CLI_OPTIONS, UsageError } from './usage';

function parseCompareArgs(args: string[]): { files: string[]; json: boolean } {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CLI_OPTIONS.compare });
  if (positionals.length < MIN_COMPARED_FILES || positionals.length > MAX_COMPARED_FILES) {
    throw new UsageError(`compare takes ${MIN_COMPARED_FILES} to ${MAX_COMPARED_FILES} LoRA files A B [C …] (got ${positionals.length})`);
  }
  return { files: positionals, json: Boolean(values.json) };
}

const fileFacts = (lora: OpenLora) => ({ file: lora.file.path, format: lora.lora.formatName, baseModel: lora.lora.baseModel, layers: lora.lora.layers.length });

export async function runCompare(args: string[], out: (text: string) => void): Promise<void> {
  const options = parseCompareArgs(args);
  const bar = new ProgressBar('comparing layers');
  const onProgress = (done: number, total: number) => bar.update(done, total, `${done}/${total} layers`);
  if (options.files.length > 2) return compareMany(options.files, options.json, onProgress, () => bar.done(), out);
  await withFileComparison(options.files[0], options.files[1], onProgress, ({ first, second, comparison, text }) => {
    bar.done();
    const { report, measures } = comparison;
    if (!options.json) {
      out(text);
      return;
    }
    const pairs = new Map(report.paired.map((p) => [p.module, p]));
    const moduleOf = (l: { module: string }) => l.module;
    out(JSON.stringify({
      first: fileFacts(first),
      second: fileFacts(second),
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

/** Three or more files: every pair's pairing counts and mean |cos| per layer, and each pair's mean per block. */
async function compareMany(paths: string[], json: boolean, onProgress: (done: number, total: number) => void, done: () => void, out: (text: string) => void): Promise<void> {
  await withManyFileComparison(paths, onProgress, ({ files, comparison, text }) => {
    done();
    if (!json) return out(text);
    const pairName = (a: number, b: number) => `${fileLetter(a)}·${fileLetter(b)}`;
    out(JSON.stringify({
      files: files.map((f, i) => ({ letter: fileLetter(i), ...fileFacts(f) })),
      pairs: comparison.pairs.map(({ a, b, comparison: { report, measures } }) => ({
        pair: pairName(a, b),
        a,
        b,
        paired: report.paired.length,
        onlyInFirst: report.onlyInFirst.map((l) => l.module),
        onlyInSecond: report.onlyInSecond.map((l) => l.module),
        refused: report.refused.map((r) => ({ module: r.module, reason: r.reason })),
        layers: measures.map((m) => ({ module: m.module, meanAbsCosine: m.meanAbsCosine, normFirst: m.firstNorm, normSecond: m.secondNorm, columnsCompared: m.columnsCompared })),
      })),
      blocks: comparison.blocks.map((b) => ({
        block: b.block,
        pairs: comparison.pairs.map((p, i) => ({ pair: pairName(p.a, p.b), meanAbsCosine: b.meanAbsCosine[i], layers: b.layers[i] })),
      })),
    }, null, 2));
  });
}
