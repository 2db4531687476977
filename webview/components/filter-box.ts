/** A filter text field with a match count and, for a broken /regex/, the reason instead of an exception. */
import { el } from '../dom.js';
import { parseNameFilter, type NameFilter } from '../name-filter.js';

export interface FilterBoxOptions {
  readonly label: string;
  readonly initial: string;
  /** Called with every valid filter as the user types (an invalid one keeps the previous result). */
  readonly onChange: (text: string, filter: Extract<NameFilter, { ok: true }>) => void;
}

export class FilterBox {
  readonly element: HTMLElement;
  private readonly field: HTMLElementTagNameMap['vscode-textfield'];
  private readonly count: HTMLElement;
  private readonly message: HTMLElement;

  constructor(private readonly options: FilterBoxOptions) {
    this.field = el('vscode-textfield', {
      className: 'filter-field',
      attrs: { placeholder: 'Filter: text, or /regular expression/', 'aria-label': options.label },
    });
    this.field.value = options.initial;
    this.count = el('span', { className: 'filter-count', attrs: { 'aria-live': 'polite' } });
    this.message = el('div', { className: 'filter-error', attrs: { role: 'alert' } });
    this.message.hidden = true;
    this.element = el('div', { className: 'filter-box' }, el('div', { className: 'filter-row' }, this.field, this.count), this.message);
    this.field.addEventListener('input', () => this.apply());
  }

  get text(): string {
    return this.field.value;
  }

  /** The current filter, or the one that matches everything when the text is not a valid expression. */
  current(): Extract<NameFilter, { ok: true }> {
    const filter = parseNameFilter(this.field.value);
    return filter.ok ? filter : { ok: true, kind: 'all', matches: () => true };
  }

  setCount(shown: number, total: number): void {
    this.count.textContent = shown === total ? `${total.toLocaleString('en-US')} rows` : `${shown.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`;
  }

  private apply(): void {
    const filter = parseNameFilter(this.field.value);
    if (!filter.ok) {
      this.message.textContent = `Invalid regular expression: ${filter.error}`;
      this.message.hidden = false;
      this.field.setAttribute('invalid', '');
      return;
    }
    this.message.hidden = true;
    this.field.removeAttribute('invalid');
    this.options.onChange(this.field.value, filter);
  }
}
