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

function foldedEntry(entry: MetadataEntry, open: boolean, onToggle: (open: boolean) => void): HTMLElement {
  const collapsible = el('vscode-collapsible', { className: 'metadata-fold', attrs: { heading: entry.key, description: entry.description } });
  let filled = false;
  const fill = () => {
    if (filled) return;
    filled = true;
    collapsible.append(valueBlock(entry));
  };
  if (open) {
    collapsible.open = true;
    fill();
  }
  collapsible.addEventListener('vsc-collapsible-toggle', (event) => {
    if (event.detail.open) fill();
    onToggle(event.detail.open);
  });
  return collapsible;
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
