/**
 * A small evaluator for the `when` clauses package.json uses: `key`, `!key`, `key == value`, `key != value`,
 * `&&`, `||`, `true`, `false`. Anything else throws, so a new operator in package.json fails the test rather
 * than being read wrongly.
 */
export function evaluateWhen(clause: string, context: Record<string, unknown>): boolean {
  return clause.split('||').some((conjunction) => conjunction.split('&&').every((term) => evaluateTerm(term.trim(), context)));
}

function evaluateTerm(term: string, context: Record<string, unknown>): boolean {
  if (term === 'true') return true;
  if (term === 'false') return false;
  const comparison = /^([\w.]+)\s*(==|!=)\s*(\S+)$/.exec(term);
  if (comparison) {
    const [, key, op, value] = comparison;
    const equal = String(context[key] ?? '') === value;
    return op === '==' ? equal : !equal;
  }
  const negated = /^!\s*([\w.]+)$/.exec(term);
  if (negated) return !context[negated[1]];
  if (/^[\w.]+$/.test(term)) return Boolean(context[term]);
  throw new Error(`when clause term not understood by the test evaluator: "${term}"`);
}
