/**
 * The filter boxes' language: plain text matches names that contain it (ignoring case); text written as
 * /pattern/flags is a regular expression. An invalid expression is reported, never thrown.
 */
export type NameFilter =
  | { readonly ok: true; readonly kind: 'all' | 'substring' | 'regex'; readonly matches: (name: string) => boolean }
  | { readonly ok: false; readonly error: string };

const REGEX_LITERAL = /^\/(.+)\/([a-z]*)$/s;

export function parseNameFilter(text: string): NameFilter {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: true, kind: 'all', matches: () => true };
  const literal = REGEX_LITERAL.exec(trimmed);
  if (literal) {
    // 'g' and 'y' make RegExp.test stateful (lastIndex), which would skip every other match.
    const flags = literal[2].replace(/[gy]/g, '');
    try {
      const pattern = new RegExp(literal[1], flags);
      return { ok: true, kind: 'regex', matches: (name) => pattern.test(name) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
  const needle = trimmed.toLowerCase();
  return { ok: true, kind: 'substring', matches: (name) => name.toLowerCase().includes(needle) };
}
