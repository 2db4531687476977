/**
 * Finds a repeated key at the top level of a JSON object. JSON.parse keeps the last of duplicate keys
 * silently, and the reference reader reports them as a confusing offset error; we name them instead.
 * Only called on text that JSON.parse already accepted, so the scanner can assume valid JSON.
 */
export function findDuplicateTopLevelKey(json: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; json.charCodeAt(i) !== 0x22; i++) if (json.charCodeAt(i) === 0x5c /* \ */) i++;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(json.slice(start, i + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      expectKey = depth === 1;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}

/**
 * Whether `text` is JSON.stringify(parsed) followed only by spaces (the padding writers add to align the data), as
 * the reference writer and most others write headers. Such a text holds no repeated key: were one repeated, the
 * parsed object would have fewer keys than the text, and its JSON.stringify, which writes each key once, could
 * not equal the text.
 */
export function isCompactForm(text: string, parsed: unknown): boolean {
  const compact = JSON.stringify(parsed);
  if (text.length < compact.length) return false;
  // Equality of flat strings compares memory at once; startsWith walks a large header character by character.
  if ((text.length === compact.length ? text : text.slice(0, compact.length)) !== compact) return false;
  for (let i = compact.length; i < text.length; i++) if (text.charCodeAt(i) !== 0x20 /* space */) return false;
  return true;
}
