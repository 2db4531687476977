/**
 * The merge panel's page: the inputs with a weight each, the merge options, a table of the blocks (each pair's
 * overlap as a shaded mean |cos| cell, a weight per input and a method per block) and the Save Recipe… / Merge
 * buttons. Every edit goes to the host at once (`changed`), so the host's copy is the page's; number fields that
 * do not hold a valid value are marked, and the buttons wait until they are fixed. Keyboard: every control is a
 * focusable element in reading order with a label; buttons answer Enter and Space (vscode-button).
 */
import type { MergePanelLimits, MergePanelSettings, MergePanelToHost, MergePanelToWebview, OverlapState, PanelBlockMethod, PanelOverlap } from '../../src/shared/merge-panel-protocol.js';
import { withInputRemoved } from '../../src/shared/merge-panel-protocol.js';
import { el } from '../dom.js';
import { baseName, formatValue } from '../format.js';
import { blockRow, fieldNumber, heatLevel, inputLabel, overlapMax, withBlockRow } from '../merge-panel-model.js';

type Post = (message: MergePanelToHost) => void;
type TextField = HTMLElementTagNameMap['vscode-textfield'];

const METHOD_TEXT: Readonly<Record<PanelBlockMethod, string>> = { zip: 'zip (ZipLoRA)', direct: 'direct (sum)', skip: 'skip (left out)' };

export class MergePanelView {
  private settings: MergePanelSettings | null = null;
  private limits: MergePanelLimits | null = null;
  private overlap: OverlapState | null = null;
  private running = false;
  /** Fields whose text is not a valid value, by focus key: the settings keep the last valid value meanwhile. */
  private readonly invalid = new Set<string>();
  /** λ to go back to when "auto" is unticked. */
  private lastLambda = 0.03;
  private readonly title = el('h1', { className: 'file-title', text: 'Merge LoRAs' });
  private readonly count = el('vscode-badge', { className: 'file-kind' });
  private readonly busy = el('div', { className: 'busy', attrs: { role: 'status', 'aria-live': 'polite' } }, el('vscode-progress-ring', { attrs: { 'aria-hidden': 'true' } }), el('span', { text: 'Merging…' }));
  private readonly main = el('main', { className: 'app-main merge-panel' });
  private readonly blocksSection = el('section', { className: 'panel', attrs: { 'aria-labelledby': 'blocks-heading' } });
  private readonly outcome = el('div', { className: 'merge-outcome', attrs: { role: 'status', 'aria-live': 'polite' } });
  private mergeButton: HTMLElement | null = null;
  private saveButton: HTMLElement | null = null;
  private cancelButton: HTMLElement | null = null;

  constructor(root: HTMLElement, private readonly post: Post) {
    this.count.hidden = true;
    this.busy.hidden = true;
    root.replaceChildren(el('header', { className: 'app-header' }, this.title, this.count, this.busy), this.main);
  }

  handle(message: MergePanelToWebview): void {
    switch (message.type) {
      case 'panelState':
        // Other inputs than the page had: its overlap is for those no longer (the host computes the new one).
        if (this.settings && !sameFiles(this.settings.inputs.map((i) => i.path), message.settings.inputs.map((i) => i.path))) this.overlap = null;
        this.settings = message.settings;
        this.limits = message.limits;
        if (typeof message.settings.lambda === 'number') this.lastLambda = message.settings.lambda;
        this.invalid.clear();
        this.render();
        break;
      case 'overlap':
        // An answer for other inputs than the page shows is stale (the host recomputes for the new ones).
        if (!this.settings || !sameFiles(message.inputs, this.settings.inputs.map((i) => i.path))) return;
        this.overlap = message.overlap;
        this.renderBlocks();
        break;
      case 'running':
        this.running = message.running;
        this.updateButtons();
        break;
      case 'outcome':
        this.outcome.className = `merge-outcome ${message.kind === 'error' ? 'error-text' : ''}`;
        this.outcome.replaceChildren(message.lines.length > 1 ? el('ul', { className: 'problems' }, ...message.lines.map((line) => el('li', { text: line }))) : el('p', { text: message.lines[0] ?? '' }));
        break;
    }
  }

  /** Applies an edit: keeps it, tells the host, and redraws what depends on it. */
  private change(settings: MergePanelSettings, redraw: 'none' | 'blocks' | 'all' = 'none'): void {
    const inputsChanged = !this.settings || !sameFiles(settings.inputs.map((i) => i.path), this.settings.inputs.map((i) => i.path));
    this.settings = settings;
    if (inputsChanged) this.overlap = null;
    this.post({ type: 'changed', settings });
    if (redraw === 'all') this.render();
    else if (redraw === 'blocks') this.renderBlocks();
    this.updateButtons();
  }

  private render(): void {
    const settings = this.settings;
    if (!settings) return;
    const focused = focusKeyOf(document.activeElement);
    const n = settings.inputs.length;
    this.count.textContent = `${n} input${n === 1 ? '' : 's'}`;
    this.count.hidden = false;
    this.main.replaceChildren(el('div', { className: 'merge-top' }, this.inputsSection(settings), this.optionsSection(settings)), this.blocksSection, this.actions());
    this.renderBlocks();
    if (focused) this.focus(focused);
  }

  /** Focuses a control by key once it has rendered (a custom element just created takes focus only after its first update). */
  private focus(key: string): void {
    const target = this.main.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`);
    if (!target) return;
    void Promise.resolve((target as { updateComplete?: Promise<unknown> }).updateComplete).then(() => target.focus());
  }

  private inputsSection(settings: MergePanelSettings): HTMLElement {
    const limits = this.limits!;
    const n = settings.inputs.length;
    const rows = settings.inputs.map((input, i) => {
      const name = baseName(input.path);
      const weight = this.numberField({
        key: `weight-${i}`,
        label: `Weight of ${inputLabel(i, n)} (${name})`,
        value: input.weight,
        min: 0,
        max: limits.maxWeight,
        step: 0.05,
        onValue: (value) => this.change({ ...this.settings!, inputs: this.settings!.inputs.map((x, j) => (j === i ? { ...x, weight: value } : x)) }),
      });
      const remove = el('vscode-button', { text: 'Remove', attrs: { secondary: true, 'aria-label': `Remove ${inputLabel(i, n)} (${name})`, 'data-focus': `remove-${i}` } });
      remove.addEventListener('click', () => {
        // Focus goes to the next input's Remove button (or the Add button): the keyboard stays in the list.
        this.change(withInputRemoved(this.settings!, i), 'all');
        this.focus(this.settings!.inputs.length > i ? `remove-${i}` : i > 0 ? `remove-${i - 1}` : 'add-inputs');
      });
      return el(
        'tr',
        {},
        el('th', { attrs: { scope: 'row' }, className: 'input-label', text: inputLabel(i, n) }),
        el('td', { className: 'input-file' }, el('span', { className: 'path', text: name, attrs: { title: input.path } })),
        el('td', {}, weight),
        el('td', {}, remove),
      );
    });
    const add = el('vscode-button', { text: 'Add LoRAs…', attrs: { secondary: true, 'data-focus': 'add-inputs', disabled: n >= limits.maxInputs } });
    add.addEventListener('click', () => this.post({ type: 'addInputs' }));
    return el(
      'section',
      { className: 'panel', attrs: { 'aria-labelledby': 'inputs-heading' } },
      el('h2', { className: 'section-heading', text: 'Inputs', attrs: { id: 'inputs-heading' } }),
      el('p', { className: 'muted', text: `${limits.minInputs} to ${limits.maxInputs} LoRAs. A weight scales that LoRA's ΔW before the merge (0 leaves it out; 1 as trained).` }),
      n
        ? el('table', { className: 'data-table merge-inputs' }, el('thead', {}, el('tr', {}, el('th', { text: 'Input', attrs: { scope: 'col' } }), el('th', { text: 'File', attrs: { scope: 'col' } }), el('th', { text: 'Weight', attrs: { scope: 'col' } }), el('th', { attrs: { scope: 'col' } }, el('span', { className: 'visually-hidden', text: 'Remove' })))), el('tbody', {}, ...rows))
        : el('p', { text: 'No inputs yet: add the LoRAs to merge.' }),
      el('div', { className: 'toolbar' }, add),
    );
  }

  private optionsSection(settings: MergePanelSettings): HTMLElement {
    const method = el('vscode-radio-group', { attrs: { 'aria-labelledby': 'method-label', 'data-focus': 'method' } });
    for (const [value, label] of [['ziplora', 'ZipLoRA (learned coefficients per column)'], ['direct', 'Direct (the weighted sum)']] as const) {
      const radio = el('vscode-radio', { attrs: { name: 'method', value, label, checked: settings.method === value } });
      radio.addEventListener('change', () => {
        if (radio.checked && this.settings!.method !== value) this.change({ ...this.settings!, method: value }, 'all');
      });
      method.append(radio);
    }
    const ziplora = settings.method === 'ziplora';
    const auto = settings.lambda === 'auto';
    const lambda = this.numberField({
      key: 'lambda',
      label: 'λ, the weight of the overlap penalty',
      value: auto ? this.lastLambda : (settings.lambda as number),
      min: 0,
      step: 0.01,
      disabled: auto || !ziplora,
      onValue: (value) => {
        this.lastLambda = value;
        this.change({ ...this.settings!, lambda: value });
      },
    });
    const autoBox = el('vscode-checkbox', { attrs: { label: 'auto (read off the trade-off curve, per layer)', checked: auto, disabled: !ziplora, 'data-focus': 'lambda-auto' } });
    autoBox.addEventListener('change', () => this.change({ ...this.settings!, lambda: autoBox.checked ? 'auto' : this.lastLambda }, 'all'));
    const rank = this.numberField({ key: 'rank', label: 'Output rank limit (empty: exact rank Σ rᵢ)', value: settings.rank, min: 1, step: 1, integer: true, optional: true, placeholder: 'exact', onValue: (value) => this.change({ ...this.settings!, rank: value }) });
    const energy = this.numberField({ key: 'rank-energy', label: 'Rank energy: share of ‖ΔW‖² kept per layer (empty: exact)', value: settings.rankEnergy, min: 0, max: 1, step: 0.005, exclusiveMin: true, optional: true, placeholder: 'exact', onValue: (value) => this.change({ ...this.settings!, rankEnergy: value }) });
    const output = el('vscode-textfield', { className: 'output-field', attrs: { 'aria-label': 'Output file', 'data-focus': 'output' } });
    output.label = 'Output file';
    output.value = settings.output;
    output.addEventListener('input', () => this.change({ ...this.settings!, output: output.value.trim() }));
    const browse = el('vscode-button', { text: 'Browse…', attrs: { secondary: true, 'aria-label': 'Browse for the output file', 'data-focus': 'browse-output' } });
    browse.addEventListener('click', () => this.post({ type: 'browseOutput' }));
    const row = (label: string, id: string, ...controls: Node[]) => el('div', { className: 'option-row' }, el('span', { className: 'option-label', text: label, attrs: { id } }), el('div', { className: 'option-controls' }, ...controls));
    return el(
      'section',
      { className: 'panel', attrs: { 'aria-labelledby': 'options-heading' } },
      el('h2', { className: 'section-heading', text: 'Merge', attrs: { id: 'options-heading' } }),
      el(
        'div',
        { className: 'option-grid' },
        row('Method', 'method-label', method),
        row('λ', 'lambda-label', lambda, autoBox),
        row('Output rank', 'rank-label', rank),
        row('Rank energy', 'energy-label', energy),
        row('Output', 'output-label', output, browse),
      ),
    );
  }

  private renderBlocks(): void {
    const settings = this.settings;
    if (!settings) return;
    const focused = focusKeyOf(document.activeElement);
    const heading = el('h2', { className: 'section-heading', text: 'Blocks', attrs: { id: 'blocks-heading' } });
    const overlap = this.overlap;
    const note = el('p', {
      className: 'muted',
      text: 'Each pair’s overlap: mean |cos| between the two LoRAs’ columns, averaged over the block’s layers, as Compare measures it (1 = the same directions, where a plain sum interferes; 0 = independent). Block weights scale each input in that block (0 leaves it out there); the method zips, sums or skips the block.',
    });
    if (settings.inputs.length < 2) this.blocksSection.replaceChildren(heading, el('p', { className: 'muted', text: 'Add at least two LoRAs to see their overlap per block.' }));
    else if (!overlap || overlap.status === 'computing') {
      const n = settings.inputs.length;
      const pairs = (n * (n - 1)) / 2;
      this.blocksSection.replaceChildren(heading, note, el('div', { className: 'spinner', attrs: { role: 'status', 'aria-live': 'polite' } }, el('vscode-progress-ring', { attrs: { 'aria-hidden': 'true' } }), el('span', { text: `Comparing the inputs pair by pair (${pairs} pair${pairs === 1 ? '' : 's'})…` })));
    } else if (overlap.status === 'error') {
      this.blocksSection.replaceChildren(heading, el('p', { className: 'error-text', attrs: { role: 'alert' }, text: `The inputs could not be compared: ${overlap.message}` }));
    } else {
      const scale = el('p', { className: 'muted', text: `Shades are relative to the largest overlap in the table (${formatValue(overlapMax(overlap.overlap.blocks), 3)}); the cells show the values.` });
      this.blocksSection.replaceChildren(heading, note, scale, el('div', { className: 'table-scroll' }, this.blocksTable(settings, overlap.overlap)));
    }
    // A redraw under the keyboard cursor puts it back on the same control.
    if (focused?.startsWith('block-')) this.focus(focused);
  }

  private blocksTable(settings: MergePanelSettings, overlap: PanelOverlap): HTMLElement {
    const n = settings.inputs.length;
    const pairName = ([a, b]: readonly [number, number]) => `${a + 1}↔${b + 1}`;
    const head = el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', { text: 'Block', attrs: { scope: 'col', rowspan: 2 } }),
        el('th', { text: 'Overlap (mean |cos|)', className: 'group-head', attrs: { scope: 'colgroup', colspan: overlap.pairs.length } }),
        el('th', { text: 'Weight per input', className: 'group-head', attrs: { scope: 'colgroup', colspan: n } }),
        el('th', { text: 'Method', attrs: { scope: 'col', rowspan: 2 } }),
      ),
      el(
        'tr',
        {},
        ...overlap.pairs.map((pair) => el('th', { className: 'num', text: pairName(pair), attrs: { scope: 'col', title: `${inputLabel(pair[0], n)} and ${inputLabel(pair[1], n)}` } })),
        ...settings.inputs.map((input, i) => el('th', { className: 'weight-head', text: String(i + 1), attrs: { scope: 'col', title: `${inputLabel(i, n)}: ${baseName(input.path)}` } })),
      ),
    );
    const max = overlapMax(overlap.blocks);
    const rows = overlap.blocks.map(({ block, meanAbsCosine }) => {
      const row = blockRow(settings, block);
      const cells = meanAbsCosine.map((value, p) => {
        const level = heatLevel(value, max);
        const [a, b] = overlap.pairs[p];
        return el('td', { className: `num heat${level === null ? '' : ` heat-${level}`}`, text: value === null ? '—' : value.toFixed(2), attrs: { title: `${block}: mean |cos| between ${inputLabel(a, n)} and ${inputLabel(b, n)}${value === null ? ': not measured' : ` = ${formatValue(value, 3)}`}` } });
      });
      const weights = row.weights.map((weight, i) =>
        el(
          'td',
          {},
          this.numberField({
            key: `block-weight-${block}-${i}`,
            label: `Weight of ${inputLabel(i, n)} in ${block}`,
            value: weight,
            min: 0,
            max: this.limits!.maxWeight,
            step: 0.05,
            compact: true,
            onValue: (value) => {
              const current = blockRow(this.settings!, block);
              this.change(withBlockRow(this.settings!, block, { ...current, weights: current.weights.map((w, j) => (j === i ? value : w)) }));
              this.markCustom(block);
            },
          }),
        ),
      );
      const method = el('vscode-single-select', { className: 'block-method', attrs: { 'data-focus': `block-method-${block}` } });
      method.label = `Method for ${block}`;
      method.setAttribute('aria-label', `Method for ${block}`);
      for (const m of this.limits!.blockMethods) method.append(el('vscode-option', { text: METHOD_TEXT[m], attrs: { value: m, selected: m === row.method } }));
      method.addEventListener('change', () => {
        const current = blockRow(this.settings!, block);
        this.change(withBlockRow(this.settings!, block, { ...current, method: method.value as PanelBlockMethod }));
        this.markCustom(block);
      });
      return el('tr', { className: row.custom ? 'custom-block' : '', attrs: { 'data-block': block } }, el('th', { className: 'block-name', text: block, attrs: { scope: 'row' } }), ...cells, ...weights, el('td', {}, method));
    });
    return el('table', { className: 'data-table merge-blocks' }, head, el('tbody', {}, ...rows));
  }

  /** Marks a block row that a rule now names (or unmarks it), without redrawing the table under the cursor. */
  private markCustom(block: string): void {
    const row = this.blocksSection.querySelector(`tr[data-block="${CSS.escape(block)}"]`);
    row?.classList.toggle('custom-block', blockRow(this.settings!, block).custom);
  }

  private actions(): HTMLElement {
    const save = el('vscode-button', { text: 'Save Recipe…', attrs: { secondary: true, 'data-focus': 'save-recipe' } });
    save.addEventListener('click', () => {
      if (this.settings && !this.blocked()) this.post({ type: 'saveRecipe', settings: this.settings });
    });
    const merge = el('vscode-button', { text: 'Merge', attrs: { 'data-focus': 'merge' } });
    merge.addEventListener('click', () => {
      if (this.settings && !this.blocked() && !this.running) this.post({ type: 'merge', settings: this.settings });
    });
    const cancel = el('vscode-button', { text: 'Cancel Merge', attrs: { secondary: true, 'data-focus': 'cancel-merge' } });
    cancel.addEventListener('click', () => this.post({ type: 'cancelMerge' }));
    this.saveButton = save;
    this.mergeButton = merge;
    this.cancelButton = cancel;
    this.updateButtons();
    return el('div', { className: 'merge-actions' }, el('div', { className: 'toolbar' }, save, merge, cancel), this.outcome);
  }

  /** True (and says so) while a field holds an invalid value: the buttons would act on the last valid one. */
  private blocked(): boolean {
    if (!this.invalid.size) return false;
    this.handle({ type: 'outcome', kind: 'error', lines: ['Fix the fields marked in red first.'] });
    return true;
  }

  private updateButtons(): void {
    this.busy.hidden = !this.running;
    const invalid = this.invalid.size > 0;
    if (this.mergeButton) toggleAttribute(this.mergeButton, 'disabled', this.running || invalid);
    if (this.saveButton) toggleAttribute(this.saveButton, 'disabled', invalid);
    if (this.cancelButton) this.cancelButton.hidden = !this.running;
  }

  /** A number field: the value goes to `onValue` when it is valid (null: emptied, for optional fields); otherwise the field is marked and the buttons wait. */
  private numberField<Optional extends boolean = false>(options: {
    key: string;
    label: string;
    value: number | null;
    min: number;
    max?: number;
    step: number;
    integer?: boolean;
    exclusiveMin?: boolean;
    optional?: Optional;
    placeholder?: string;
    disabled?: boolean;
    compact?: boolean;
    onValue: (value: Optional extends true ? number | null : number) => void;
  }): TextField {
    const field = el('vscode-textfield', {
      className: options.compact ? 'number-field number-field--compact' : 'number-field',
      attrs: { type: 'number', min: options.min, max: options.max, step: options.step, 'aria-label': options.label, title: options.label, 'data-focus': options.key, disabled: options.disabled, placeholder: options.placeholder },
    });
    field.label = options.label;
    field.value = options.value === null ? '' : String(options.value);
    field.addEventListener('input', () => {
      const value = fieldNumber(field.value);
      const ok =
        value === null
          ? options.optional === true
          : !Number.isNaN(value) && (options.exclusiveMin ? value > options.min : value >= options.min) && (options.max === undefined || value <= options.max) && (!options.integer || Number.isInteger(value));
      toggleAttribute(field, 'invalid', !ok);
      if (ok) this.invalid.delete(options.key);
      else this.invalid.add(options.key);
      if (ok) options.onValue(value as Optional extends true ? number | null : number);
      else this.updateButtons();
    });
    return field;
  }
}

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

function focusKeyOf(element: Element | null): string | null {
  return element instanceof HTMLElement ? (element.closest<HTMLElement>('[data-focus]')?.dataset.focus ?? null) : null;
}

function toggleAttribute(element: HTMLElement, name: string, on: boolean): void {
  if (on) element.setAttribute(name, '');
  else element.removeAttribute(name);
}
