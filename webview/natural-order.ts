/** Name order that reads right for layer names: `blocks.2` before `blocks.10`. */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function compareNatural(a: string, b: string): number {
  return collator.compare(a, b);
}
