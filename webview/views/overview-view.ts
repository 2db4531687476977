/** Overview tab: what the file is, how big, which dtypes, and (for LoRAs) which base model it was trained on. */
import type { FileView } from '../../src/shared/webview-protocol.js';
import { definitionList, el, sectionHeading } from '../dom.js';
import { formatBytes, formatCount, formatInteger, formatPercent } from '../format.js';

function exact(summary: string, exactValue: string): HTMLElement {
  return el('span', { text: summary, attrs: { title: exactValue } }, el('span', { className: 'exact', text: ` (${exactValue})` }));
}

function dtypeTable(view: FileView): HTMLElement {
  const totalBytes = view.dtypes.reduce((sum, d) => sum + d.bytes, 0) || 1;
  const body = el('tbody');
  for (const d of view.dtypes) {
    const share = d.bytes / totalBytes;
    const bar = el('span', { className: 'share-bar' });
    // Width through the CSSOM: allowed by the CSP, unlike a style attribute written into HTML.
    bar.style.width = `${(share * 100).toFixed(1)}%`;
    body.append(
      el(
        'tr',
        {},
        el('th', { attrs: { scope: 'row' } }, el('vscode-badge', { text: d.dtype, attrs: { variant: 'counter' } })),
        el('td', { className: 'num', text: formatInteger(d.tensors) }),
        el('td', { className: 'num', text: formatCount(d.parameters), attrs: { title: formatInteger(d.parameters) } }),
        el('td', { className: 'num', text: formatBytes(d.bytes), attrs: { title: `${formatInteger(d.bytes)} bytes` } }),
        el('td', { className: 'share-cell' }, el('span', { className: 'share-track' }, bar), el('span', { className: 'share-text', text: formatPercent(share) })),
      ),
    );
  }
  return el(
    'table',
    { className: 'data-table dtype-table' },
    el('caption', { className: 'visually-hidden', text: 'Tensors, parameters and bytes per dtype' }),
    el('thead', {}, el('tr', {}, ...['DType', 'Tensors', 'Parameters', 'Bytes', 'Share of bytes'].map((h) => el('th', { text: h, attrs: { scope: 'col' } })))),
    body,
  );
}

function baseModelSection(view: FileView): HTMLElement {
  if (!view.lora) {
    return el('section', { className: 'panel' }, sectionHeading('Base model'), el('p', { className: 'muted', text: 'Only guessed for LoRA files: this file is not a B·A LoRA.' }));
  }
  const { baseModel } = view.lora;
  const expertBadge = baseModel.expert ? [' ', el('vscode-badge', { text: `${baseModel.expert} expert` })] : [];
  // One expert of a model made of same-shaped experts: a merge with another expert's LoRA is a mistake shapes cannot catch.
  const expertNote = baseModel.expert
    ? [el('p', { className: 'muted expert-note', text: `For the ${baseModel.expert} expert only: merge it with LoRAs for the same expert. A merge with another expert's LoRA is refused unless --allow-mixed-experts; ziplora merge --experts merges pairs of files expert by expert.` })]
    : [];
  const evidence = baseModel.evidence.length
    ? el('ul', { className: 'evidence' }, ...baseModel.evidence.map((e) => el('li', { text: e })))
    : el('p', { className: 'muted', text: 'No evidence: nothing in the layer names or shapes points to a model family.' });
  return el(
    'section',
    { className: 'panel' },
    sectionHeading('Base model (guessed)'),
    el('p', { className: 'base-model' }, el('strong', { text: baseModel.label }), ' ', el('vscode-badge', { text: baseModel.family }), ...expertBadge),
    ...expertNote,
    el('h3', { className: 'subheading', text: 'Evidence' }),
    evidence,
  );
}

function loraFacts(view: FileView): HTMLElement | null {
  if (!view.lora) return null;
  const { lora } = view;
  const list = (values: readonly (number | null)[]) => values.map((v) => (v === null ? 'none' : String(v))).join(', ') || '—';
  return el(
    'section',
    { className: 'panel' },
    sectionHeading('LoRA'),
    definitionList([
      ['Format', lora.format],
      ['Naming scheme', lora.scheme],
      ['Ranks', list(lora.ranks)],
      ['Alphas', list(lora.alphas)],
      ['Scales', lora.scales.map((s) => String(+s.toPrecision(4))).join(', ') || '—'],
      ['Scale from', lora.scaleSources.join('; ') || '—'],
      ...(lora.adapterConfig ? [['Adapter config', lora.adapterConfig] as const] : []),
      ['Other tensors', lora.extraTensors.length ? `${lora.extraTensors.length} (not LoRA factors)` : 'none'],
      ['Problems', lora.problems.length ? `${lora.problems.length} — see the LoRA tab` : 'none'],
    ]),
  );
}

export function renderOverview(view: FileView): HTMLElement {
  const { summary } = view;
  const shards = new Set(summary.tensors.map((t) => t.shard).filter((s): s is string => s !== undefined));
  return el(
    'div',
    { className: 'overview' },
    el(
      'section',
      { className: 'panel' },
      sectionHeading('File'),
      definitionList([
        ['Kind', el('strong', { text: view.kind })],
        ...(view.advice ? [['What to do', el('span', { text: view.advice })] as const] : []),
        ['Path', el('span', { className: 'path', text: summary.file })],
        ['Size', exact(formatBytes(summary.bytes), `${formatInteger(summary.bytes)} bytes`)],
        ['Header', exact(formatBytes(summary.headerBytes), `${formatInteger(summary.headerBytes)} bytes`)],
        ['Tensors', formatInteger(summary.tensors.length)],
        ['Parameters', exact(formatCount(view.parameters), formatInteger(view.parameters))],
        ['Metadata entries', formatInteger(Object.keys(summary.metadata).length)],
        ...(shards.size ? [['Shards', formatInteger(shards.size)] as const] : []),
      ]),
    ),
    el('section', { className: 'panel' }, sectionHeading('DTypes'), view.dtypes.length ? dtypeTable(view) : el('p', { className: 'muted', text: 'No tensors.' })),
    baseModelSection(view),
    loraFacts(view),
  );
}
