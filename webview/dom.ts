/**
 * Building DOM nodes from code. Text always goes in as textContent (file data is never parsed as HTML), and
 * styles only as classes, so nothing here conflicts with the webview's Content-Security-Policy.
 */
type Child = Node | string | number | null | undefined | false;

export interface ElementProps {
  readonly className?: string;
  readonly text?: string;
  /** Plain attributes (aria-*, role, title, slot, …); `false`/`undefined` leave the attribute out. */
  readonly attrs?: Readonly<Record<string, string | number | boolean | undefined>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: ElementProps = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** A definition list of label/value rows; a value that is a node is used as it is. */
export function definitionList(rows: readonly (readonly [string, Child])[], className = 'facts'): HTMLDListElement {
  const list = el('dl', { className });
  for (const [label, value] of rows) {
    append(list, el('dt', { text: label }), el('dd', {}, value));
  }
  return list;
}

export function sectionHeading(text: string, level: 'h2' | 'h3' = 'h2'): HTMLHeadingElement {
  return el(level, { className: 'section-heading', text });
}

/** A spinner with a line of text, announced politely to screen readers. */
export function spinner(text: string): HTMLElement {
  return el('div', { className: 'spinner', attrs: { role: 'status', 'aria-live': 'polite' } }, el('vscode-progress-ring', { attrs: { 'aria-hidden': 'true' } }), el('span', { text }));
}

/** Text for screen readers only (e.g. the layer a chart's keyboard cursor is on). */
export function liveRegion(): HTMLElement {
  return el('div', { className: 'visually-hidden', attrs: { 'aria-live': 'polite', role: 'status' } });
}
