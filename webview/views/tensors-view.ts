/**
 * Tensors tab: every tensor in a virtualised, sortable, filterable table; selecting one asks the host for its
 * statistics (computed in the worker) and shows them beside the table.
 */
import type { FileView, TensorStats, TensorSummary } from '../../src/shared/webview-protocol.js';
import { FilterBox } from '../components/filter-box.js';
import { VirtualTable, type Column } from '../components/virtual-table.js';
import { el } from '../dom.js';
import { elementCount, formatBytes, formatCount, formatInteger, formatShape } from '../format.js';
import { compareNatural } from '../natural-order.js';
import { TensorDetail, type StatsResult } from './tensor-detail.js';
import type { ViewContext } from './view-context.js';

const byteSize = (t: TensorSummary) => t.dataOffsets[1] - t.dataOffsets[0];

/** Shapes order by rank, then dimension by dimension. */
function compareShapes(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

const COLUMNS: readonly Column<TensorSummary>[] = [
  { id: 'name', truncateStart: true, label: 'Name', text: (t) => t.name, title: (t) => t.name, compare: (a, b) => compareNatural(a.name, b.name) },
  { id: 'dtype', label: 'DType', text: (t) => t.dtype, compare: (a, b) => compareNatural(a.dtype, b.dtype) },
  { id: 'shape', label: 'Shape', text: (t) => formatShape(t.shape), title: (t) => formatShape(t.shape), compare: (a, b) => compareShapes(a.shape, b.shape) },
  { id: 'elements', label: 'Elements', text: (t) => formatCount(elementCount(t.shape)), title: (t) => formatInteger(elementCount(t.shape)), compare: (a, b) => elementCount(a.shape) - elementCount(b.shape), align: 'end' },
  { id: 'size', label: 'Size', text: (t) => formatBytes(byteSize(t)), title: (t) => `${formatInteger(byteSize(t))} bytes`, compare: (a, b) => byteSize(a) - byteSize(b), align: 'end' },
];

export class TensorsView {
  readonly element: HTMLElement;
  private readonly table: VirtualTable<TensorSummary>;
  private readonly filter: FilterBox;
  private readonly detail = new TensorDetail();
  private readonly tensors: readonly TensorSummary[];
  private readonly byName: ReadonlyMap<string, TensorSummary>;
  /** Results already received, so going back to a tensor does not compute it again. */
  private readonly results = new Map<string, StatsResult>();
  private selected: string | null = null;

  constructor(view: FileView, private readonly context: ViewContext) {
    this.tensors = view.summary.tensors;
    this.byName = new Map(this.tensors.map((t) => [t.name, t]));
    const saved = context.state.value.tensors;
    this.table = new VirtualTable({
      className: 'tensor-table',
      ariaLabel: 'Tensors',
      columns: COLUMNS,
      rowKey: (t) => t.name,
      onSelect: (t) => this.select(t.name),
      onSortChange: (sort) => this.save({ sort }),
      onScroll: (scrollTop) => context.state.updateLater({ tensors: { ...context.state.value.tensors, scrollTop } }),
      emptyText: 'No tensor matches the filter.',
    });
    this.filter = new FilterBox({
      label: 'Filter tensors by name',
      initial: saved.filter,
      onChange: (text) => {
        this.applyFilter();
        this.save({ filter: text, scrollTop: 0 });
      },
    });
    this.element = el('div', { className: 'tensors' }, this.filter.element, el('div', { className: 'split' }, this.table.element, this.detail.element));
    this.table.setSort(saved.sort);
    this.applyFilter();
    this.table.setScrollTop(saved.scrollTop);
    if (saved.selected && this.byName.has(saved.selected)) this.select(saved.selected, false);
  }

  /** A `tensorStats` reply: shown if it is for the selected tensor, kept either way. */
  showStats(name: string, stats: TensorStats | null, error: string | undefined): void {
    const result: StatsResult = stats && !error ? { kind: 'stats', stats } : { kind: 'error', message: error ?? 'the host sent no statistics' };
    this.results.set(name, result);
    const tensor = this.byName.get(name);
    if (tensor && name === this.selected) this.detail.show(tensor, result);
  }

  private applyFilter(): void {
    const { matches } = this.filter.current();
    const rows = this.tensors.filter((t) => matches(t.name));
    this.table.setRows(rows);
    this.filter.setCount(rows.length, this.tensors.length);
  }

  private select(name: string, reveal = true): void {
    const tensor = this.byName.get(name);
    if (!tensor) return;
    this.selected = name;
    this.table.setSelectedKey(name, reveal);
    this.save({ selected: name });
    const known = this.results.get(name);
    if (known) {
      // Already received, or already asked for (the reply will show it).
      this.detail.show(tensor, known);
      return;
    }
    this.results.set(name, { kind: 'pending' });
    this.detail.show(tensor, { kind: 'pending' });
    this.context.post({ type: 'requestTensorStats', name });
  }

  private save(change: Partial<ViewContext['state']['value']['tensors']>): void {
    this.context.state.update({ tensors: { ...this.context.state.value.tensors, ...change } });
  }
}
