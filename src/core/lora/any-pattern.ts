/**
 * The first of several patterns that matches a text, found with one combined RegExp as a prefilter: most names
 * of a large checkpoint match none of the LoRA naming rules, and one test of an alternation of them costs less
 * than calling each rule's exec in turn. Only a text the prefilter accepts is tried pattern by pattern.
 */

/** Numbered or named backreferences, and named groups: inside the alternation they would refer to another
 * group, or clash. A false alarm (a literal `\(?<`) only costs that pattern its own test. */
const NOT_COMBINABLE = /\\[1-9]|\\k<|\(\?<[^=!]/;

function combinable(pattern: RegExp, flags: string): boolean {
  // `g` and `y` patterns carry state in lastIndex, which their own exec must see as before.
  return pattern.flags === flags && !pattern.global && !pattern.sticky && !NOT_COMBINABLE.test(pattern.source);
}

export interface AnyPattern {
  /** The first pattern (in the given order) whose exec matches `text`, with its match; the same answer and the
   * same exec calls on stateful patterns as calling each pattern's exec in turn. */
  exec(text: string): { readonly index: number; readonly match: RegExpExecArray } | undefined;
}

export function anyPattern(patterns: readonly RegExp[]): AnyPattern {
  // The first pattern's flags are the alternation's; a pattern with other flags is tried on its own.
  const flags = patterns[0]?.flags ?? '';
  const joined = patterns.filter((p) => combinable(p, flags));
  const aloneIndexes: number[] = [];
  for (let i = 0; i < patterns.length; i++) if (!combinable(patterns[i], flags)) aloneIndexes.push(i);
  const prefilter = joined.length ? new RegExp(alternation(joined.map((p) => p.source), flags), flags) : undefined;
  return {
    exec(text) {
      if (prefilter?.test(text)) {
        for (let i = 0; i < patterns.length; i++) {
          const match = patterns[i].exec(text);
          if (match) return { index: i, match };
        }
        return undefined;
      }
      // No combinable pattern matches, so only the others can.
      for (let k = 0; k < aloneIndexes.length; k++) {
        const match = patterns[aloneIndexes[k]].exec(text);
        if (match) return { index: aloneIndexes[k], match };
      }
      return undefined;
    },
  };
}

/**
 * The pieces of a pattern's source in order (an escape, a class, a group, or one character, each with its
 * quantifier), or undefined where the source holds what this reading does not know for sure: a top-level `|`,
 * escapes longer than one character, a `{` that is no plain quantifier, the `v` flag's nested classes.
 */
function atomsOf(source: string, flags: string): string[] | undefined {
  if (flags.includes('v') || /\\[uxcpPk]/.test(source)) return undefined;
  // Pieces are read one UTF-16 unit at a time: under `u` a shared high surrogate would split a character, and an
  // old octal escape (\01) is longer than the two units an escape is read as.
  if ((flags.includes('u') && /[\uD800-\uDFFF]/.test(source)) || /\\0[0-9]/.test(source)) return undefined;
  const atoms: string[] = [];
  let i = 0;
  /** Index just past the class that starts at `at` (its `[`). */
  const classEnd = (at: number): number => {
    let k = at + 1;
    if (source[k] === '^') k++;
    for (; k < source.length && source[k] !== ']'; k++) if (source[k] === '\\') k++;
    return k + 1;
  };
  while (i < source.length) {
    const c = source[i];
    let end: number;
    if (c === '|' || c === ')' || c === '{' || c === '*' || c === '+' || c === '?') return undefined;
    if (c === '\\') end = i + 2;
    else if (c === '[') end = classEnd(i);
    else if (c === '(') {
      let depth = 0;
      let k = i;
      for (; k < source.length; k++) {
        if (source[k] === '\\') k++;
        else if (source[k] === '[') k = classEnd(k) - 1;
        else if (source[k] === '(') depth++;
        else if (source[k] === ')' && --depth === 0) break;
      }
      end = k + 1;
    } else end = i + 1;
    if (end > source.length) return undefined;
    // A quantifier belongs to the piece before it (and its lazy `?` to the quantifier).
    const quantifier = /^(?:[*+?]|\{\d+(?:,\d*)?\})\??/.exec(source.slice(end));
    if (quantifier) end += quantifier[0].length;
    atoms.push(source.slice(i, end));
    i = end;
  }
  return atoms;
}

interface Trie {
  end: boolean;
  readonly next: Map<string, Trie>;
}

/**
 * One source matching wherever any of `sources` does. Patterns that start with the same pieces share them, so
 * that `^(.+)\.alpha$` and `^(.+)\.lora_mid\.weight$` scan the name once, not once each: a text matches
 * `P(?:S1|S2)` exactly where it matches `PS1` or `PS2`, and without backreferences the groups do not matter.
 */
function alternation(sources: readonly string[], flags: string): string {
  const root: Trie = { end: false, next: new Map() };
  const whole: string[] = [];
  for (const source of sources) {
    const atoms = atomsOf(source, flags);
    if (!atoms) {
      whole.push(`(?:${source})`);
      continue;
    }
    let node = root;
    for (const atom of atoms) {
      let child = node.next.get(atom);
      if (!child) node.next.set(atom, (child = { end: false, next: new Map() }));
      node = child;
    }
    node.end = true;
  }
  const write = (node: Trie): string => {
    const branches = [...node.next].map(([atom, child]) => atom + write(child));
    if (node.end) branches.push('');
    return branches.length === 1 ? branches[0] : `(?:${branches.join('|')})`;
  };
  if (root.next.size > 0 || root.end) whole.unshift(write(root));
  return whole.join('|');
}
