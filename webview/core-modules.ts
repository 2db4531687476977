/**
 * The core code the webview runs: the one file under webview/ that imports from src/core. Everything named
 * here is bundled into dist/webview.js and runs in VS Code's browser sandbox, so each module (and all it
 * imports) must be pure TypeScript: no node:, no vscode, no npm package, no I/O. test/pure/structure.test.ts
 * checks that, and that no other webview file imports src/core. Types come through src/shared/webview-protocol.
 *
 * - lora/network-blocks: a module's block and the network's order, from its name (string rules only).
 * - view/block-labels: which block labels fit under a chart, given a text-measuring function (arithmetic only).
 * - merge/layer-report: the sparsity threshold's one home (the module's other code is arithmetic on typed arrays).
 * - view/report-series: names of inputs and pairs, per-layer series and the λ summary of a report (arithmetic only).
 */
export { blockOf, blockSpans, inNetworkOrder, type BlockSpan } from '../src/core/lora/network-blocks.js';
export { blockLabels } from '../src/core/view/block-labels.js';
export { DEFAULT_SPARSITY_THRESHOLD } from '../src/core/merge/layer-report.js';
export { inputLabels, inputValues, lambdaSummary, pairValues, reportedPairs, type LambdaSummary } from '../src/core/view/report-series.js';
