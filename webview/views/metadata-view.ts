/**
 * Metadata tab: every __metadata__ entry. JSON inside values is expanded and pretty-printed; long values are
 * folded, and their text is only built when first unfolded (kohya's ss_tag_frequency can be megabytes).
 */
import type { FileView } from '../../src/shared/webview-protocol.js';
import { el, sectionHeading } from '../dom.js';
import { metadataEntries, type MetadataEntry } from '../metadata-values.js';
import type { ViewContext } from './view-context.js';

function valueBlock(entry: MetadataEntry): HTMLElement {
  return el('pre', { className: `metadata-value${entry.isJson ? ' is-json' : ''}`, text: entry.display });
}

/**
 * A folded value. A native <details> rather than vscode-collapsible: the latter upper-cases its heading, and
 * metadata keys are case-sensitive names that must read exactly as stored.
 */
function foldedEntry(entry: MetadataEntry, open: boolean, onToggle: (open: boolean) => void): HTMLElement {
  const details = el(
    'details',
    { className: 'metadata-fold', attrs: { 'data-key': entry.key } },
    el('summary', {}, el('span', { className: 'metadata-key', text: entry.key }), el('span', { className: 'metadata-description', text: entry.description })),
  );
  let filled = false;
  const fill = () => {
    if (filled) return;
    filled = true;
    details.append(valueBlock(entry));
  };
  if (open) {
    details.open = true;
    fill();
  }
  details.addEventListener('toggle', () => {
    if (details.open) fill();
    onToggle(details.open);
  });
  return details;
}

export function renderMetadata(view: FileView, context: ViewContext): HTMLElement {
  const entries = metadataEntries(view.summary.metadata);
  if (entries.length === 0) {
    return el('section', { className: 'panel' }, sectionHeading('Metadata'), el('p', { className: 'muted', text: 'This file has no __metadata__ entries.' }));
  }
  const open = new Set(context.state.value.openMetadata);
  const onToggle = (key: string) => (isOpen: boolean) => {
    if (isOpen) open.add(key);
    else open.delete(key);
    context.state.update({ openMetadata: [...open] });
  };
  const short = entries.filter((e) => !e.folded);
  const long = entries.filter((e) => e.folded);
  const table = el(
    'dl',
    { className: 'metadata-list' },
    ...short.flatMap((entry) => [el('dt', { className: 'metadata-key', text: entry.key }), el('dd', {}, valueBlock(entry))]),
  );
  return el(
    'div',
    { className: 'metadata' },
    el('section', { className: 'panel' }, sectionHeading(`Metadata (${entries.length} entries)`), short.length ? table : null),
    long.length
      ? el('section', { className: 'panel' }, sectionHeading('Long values', 'h3'), ...long.map((entry) => foldedEntry(entry, open.has(entry.key), onToggle(entry.key))))
      : null,
  );
}
