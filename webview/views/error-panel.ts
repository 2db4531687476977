/** The panel shown instead of the tabs when the host could not read the file. */
import { definitionList, el } from '../dom.js';

export function renderFileError(file: string, message: string, hint: string | undefined): HTMLElement {
  return el(
    'section',
    { className: 'panel error-panel', attrs: { role: 'alert' } },
    el('h2', { className: 'section-heading', text: 'This file could not be opened' }),
    definitionList([
      ['File', el('span', { className: 'path', text: file })],
      ['Problem', el('span', { className: 'error-message', text: message })],
      ['What to do', hint ?? 'Check that the file is a complete .safetensors file (an interrupted download or copy leaves it truncated), then reopen it.'],
    ]),
  );
}
