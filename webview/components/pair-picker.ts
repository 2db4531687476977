/**
 * Picks one pair of inputs (A·B, A·C … for the Compare panel; "input 1 · input 3" in the ZipLoRA tab) for the
 * charts that show one pair at a time: a row of toggle buttons, each aria-pressed, reachable with Tab and
 * pressed with Enter or Space like every vscode-button.
 */
import { el } from '../dom.js';

export function pairPicker(labels: readonly string[], initial: number, onPick: (index: number) => void, ariaLabel = 'Pair shown in the charts'): HTMLElement {
  const group = el('div', { className: 'segmented pair-picker', attrs: { role: 'group', 'aria-label': ariaLabel } });
  const buttons = labels.map((label) => el('vscode-button', { text: label }));
  const show = (index: number) =>
    buttons.forEach((button, i) => {
      button.secondary = i !== index;
      button.setAttribute('aria-pressed', String(i === index));
    });
  buttons.forEach((button, index) => {
    button.addEventListener('click', () => {
      show(index);
      onPick(index);
    });
    group.append(button);
  });
  show(initial);
  return group;
}
