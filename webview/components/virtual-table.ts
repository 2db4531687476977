/**
 * A table that renders only the rows in view (plus a few above and below), so tens of thousands of rows
 * scroll smoothly. Keyboard: the table is one tab stop; ↑/↓, Page Up/Down, Home/End move the cursor, Enter
 * or Space selects the row under it (a click selects directly). Column headers are buttons that sort.
 */
import { el } from '../dom.js';
import type { SortState } from '../state.js';

export interface Column<Row> {
  readonly id: string;
  readonly label: string;
  readonly text: (row: Row) => string;
  /** Tooltip, when the cell may be truncated. */
  readonly title?: (row: Row) => string;
  /** Present on sortable columns. */
  readonly compare?: (a: Row, b: Row) => number;
  readonly align?: 'start' | 'end';
  /** Long dotted names: cut at the start, since their end (`…attn2.to_k.lora_up.weight`) tells them apart. */
  readonly truncateStart?: boolean;
}

export interface VirtualTableOptions<Row> {
  /** Sets the column widths (grid-template-columns in styles.css). */
  readonly className: string;
  readonly ariaLabel: string;
  readonly columns: readonly Column<Row>[];
  readonly rowKey: (row: Row) => string;
  readonly onSelect: (row: Row) => void;
  readonly onSortChange?: (sort: SortState | null) => void;
  readonly onScroll?: (scrollTop: number) => void;
  /** Shown instead of rows when there are none. */
  readonly emptyText: string;
}

/** Must match .vt-row's height in styles.css. */
const ROW_HEIGHT = 22;
const OVERSCAN = 8;

let tableCount = 0;

export class VirtualTable<Row> {
  readonly element: HTMLElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly headerButtons = new Map<string, HTMLButtonElement>();
  private readonly rowPool: HTMLElement[] = [];
  private readonly idPrefix = `vt${++tableCount}`;
  private source: readonly Row[] = [];
  private rows: Row[] = [];
  private sortState: SortState | null = null;
  private selectedKey: string | null = null;
  private cursor = -1;
  private renderScheduled = false;
  /** Scroll position to apply once the viewport has a height (it has none while its tab is hidden). */
  private pendingScrollTop: number | null = null;
  private lastScrollTop = 0;
  private lastHeight = 0;

  constructor(private readonly options: VirtualTableOptions<Row>) {
    const header = el('div', { className: 'vt-row vt-header', attrs: { role: 'row' } });
    for (const column of options.columns) {
      const cell = el('div', { className: `vt-cell vt-align-${column.align ?? 'start'}`, attrs: { role: 'columnheader', 'aria-sort': column.compare ? 'none' : undefined } });
      if (column.compare) {
        const button = el('button', { className: 'vt-sort', text: column.label, attrs: { type: 'button', title: `Sort by ${column.label.toLowerCase()}` } });
        button.addEventListener('click', () => this.toggleSort(column.id));
        this.headerButtons.set(column.id, button);
        cell.append(button);
      } else {
        cell.textContent = column.label;
      }
      header.append(cell);
    }
    this.spacer = el('div', { className: 'vt-spacer', attrs: { role: 'rowgroup' } });
    this.empty = el('div', { className: 'vt-empty', text: options.emptyText });
    this.viewport = el('div', { className: 'vt-viewport' }, this.spacer, this.empty);
    this.element = el(
      'div',
      { className: `virtual-table ${options.className}`, attrs: { role: 'grid', tabindex: 0, 'aria-label': options.ariaLabel, 'aria-rowcount': 1, 'aria-colcount': options.columns.length } },
      el('div', { attrs: { role: 'rowgroup' } }, header),
      this.viewport,
    );
    this.viewport.addEventListener('scroll', () => {
      // A hidden viewport reports 0; that is not where the user left it.
      if (this.viewport.clientHeight === 0) return;
      this.lastScrollTop = this.viewport.scrollTop;
      this.scheduleRender();
      options.onScroll?.(this.lastScrollTop);
    });
    this.element.addEventListener('keydown', (event) => this.onKey(event));
    this.spacer.addEventListener('click', (event) => {
      const rowElement = (event.target as HTMLElement).closest<HTMLElement>('.vt-row');
      const index = Number(rowElement?.dataset.index);
      if (rowElement && Number.isInteger(index) && this.rows[index]) {
        this.cursor = index;
        this.select(this.rows[index]);
        this.element.focus({ preventScroll: true });
      }
    });
    // Rows are laid out from the viewport's height, which is 0 while the table's tab is hidden.
    new ResizeObserver(() => this.scheduleRender()).observe(this.viewport);
  }

  get sort(): SortState | null {
    return this.sortState;
  }

  get visibleRows(): readonly Row[] {
    return this.rows;
  }

  get scrollTop(): number {
    return this.lastScrollTop;
  }

  setRows(rows: readonly Row[]): void {
    this.source = rows;
    this.applySort();
  }

  setSort(sort: SortState | null): void {
    this.sortState = sort && this.options.columns.some((c) => c.id === sort.column && c.compare) ? sort : null;
    for (const [id, button] of this.headerButtons) {
      const direction = this.sortState?.column === id ? this.sortState.direction : null;
      button.parentElement!.setAttribute('aria-sort', direction === 'asc' ? 'ascending' : direction === 'desc' ? 'descending' : 'none');
      button.dataset.sort = direction ?? '';
    }
    this.applySort();
  }

  /** Highlights the row with this key (without calling onSelect) and brings it into view. */
  setSelectedKey(key: string | null, reveal = true): void {
    this.selectedKey = key;
    const index = key === null ? -1 : this.rows.findIndex((r) => this.options.rowKey(r) === key);
    if (index >= 0) {
      this.cursor = index;
      if (reveal && this.viewport.clientHeight > 0) this.reveal(index);
    }
    this.scheduleRender();
  }

  setScrollTop(top: number): void {
    this.lastScrollTop = top;
    if (this.viewport.clientHeight === 0) this.pendingScrollTop = top;
    else this.viewport.scrollTop = top;
    this.scheduleRender();
  }

  focus(): void {
    this.element.focus();
  }

  private toggleSort(columnId: string): void {
    const current = this.sortState;
    // asc → desc → file order: a third click brings back the order the rows came in.
    const next: SortState | null = current?.column !== columnId ? { column: columnId, direction: 'asc' } : current.direction === 'asc' ? { column: columnId, direction: 'desc' } : null;
    this.setSort(next);
    this.options.onSortChange?.(next);
  }

  private applySort(): void {
    const column = this.sortState && this.options.columns.find((c) => c.id === this.sortState!.column);
    this.rows = [...this.source];
    if (column?.compare) {
      const sign = this.sortState!.direction === 'asc' ? 1 : -1;
      const compare = column.compare;
      this.rows.sort((a, b) => sign * compare(a, b));
    }
    this.cursor = this.selectedKey === null ? -1 : this.rows.findIndex((r) => this.options.rowKey(r) === this.selectedKey);
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    this.element.setAttribute('aria-rowcount', String(this.rows.length + 1));
    this.empty.hidden = this.rows.length > 0;
    this.scheduleRender();
  }

  private select(row: Row): void {
    this.selectedKey = this.options.rowKey(row);
    this.scheduleRender();
    this.options.onSelect(row);
  }

  private reveal(index: number): void {
    const top = index * ROW_HEIGHT;
    const height = this.viewport.clientHeight;
    if (top < this.viewport.scrollTop) this.viewport.scrollTop = top;
    else if (top + ROW_HEIGHT > this.viewport.scrollTop + height) this.viewport.scrollTop = top + ROW_HEIGHT - height;
  }

  private onKey(event: KeyboardEvent): void {
    if (event.target !== this.element || this.rows.length === 0) return;
    const page = Math.max(1, Math.floor(this.viewport.clientHeight / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = { ArrowDown: this.cursor + 1, ArrowUp: this.cursor - 1, PageDown: this.cursor + page, PageUp: this.cursor - page, Home: 0, End: this.rows.length - 1 };
    if (event.key in moves) {
      this.cursor = Math.max(0, Math.min(this.rows.length - 1, moves[event.key]));
      this.reveal(this.cursor);
      this.scheduleRender();
    } else if ((event.key === 'Enter' || event.key === ' ') && this.cursor >= 0) {
      this.select(this.rows[this.cursor]);
    } else {
      return;
    }
    event.preventDefault();
  }

  private scheduleRender(): void {
    if (this.renderScheduled) return;
    this.renderScheduled = true;
    requestAnimationFrame(() => {
      this.renderScheduled = false;
      this.render();
    });
  }

  private render(): void {
    const height = this.viewport.clientHeight;
    if (height > 0 && this.lastHeight === 0) this.pendingScrollTop ??= this.lastScrollTop;
    this.lastHeight = height;
    if (height > 0 && this.pendingScrollTop !== null) {
      this.viewport.scrollTop = this.pendingScrollTop;
      this.pendingScrollTop = null;
    }
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length - 1, Math.ceil((this.viewport.scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
    const count = height > 0 ? Math.max(0, last - first + 1) : 0;
    while (this.rowPool.length < count) {
      const row = el('div', { className: 'vt-row vt-body-row', attrs: { role: 'row' } });
      for (const column of this.options.columns) {
        row.append(el('div', { className: `vt-cell vt-align-${column.align ?? 'start'}${column.truncateStart ? ' vt-truncate-start' : ''}`, attrs: { role: 'gridcell' } }));
      }
      this.rowPool.push(row);
      this.spacer.append(row);
    }
    let activeId: string | null = null;
    this.rowPool.forEach((element, slot) => {
      const index = first + slot;
      if (slot >= count) {
        element.hidden = true;
        return;
      }
      const row = this.rows[index];
      element.hidden = false;
      if (element.dataset.index !== String(index) || element.dataset.key !== this.options.rowKey(row)) {
        element.dataset.index = String(index);
        element.dataset.key = this.options.rowKey(row);
        element.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
        element.setAttribute('aria-rowindex', String(index + 2));
        this.options.columns.forEach((column, c) => {
          const cell = element.children[c] as HTMLElement;
          cell.textContent = column.text(row);
          if (column.title) cell.title = column.title(row);
        });
      }
      const selected = element.dataset.key === this.selectedKey;
      element.classList.toggle('is-selected', selected);
      element.setAttribute('aria-selected', String(selected));
      const isCursor = index === this.cursor;
      element.classList.toggle('is-cursor', isCursor);
      element.id = isCursor ? `${this.idPrefix}-cursor` : '';
      if (isCursor) activeId = element.id;
    });
    if (activeId) this.element.setAttribute('aria-activedescendant', activeId);
    else this.element.removeAttribute('aria-activedescendant');
  }
}
