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
  const prefilter = joined.length ? new RegExp(joined.map((p) => `(?:${p.source})`).join('|'), flags) : undefined;
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
