/**
 * Metadata values as a reader wants them: safetensors metadata is string → string, and trainers (kohya's
 * `ss_*` keys, diffusers, ZipLoRA's `ziplora_recipe`) put JSON inside those strings, sometimes JSON inside
 * JSON. Such values are parsed and pretty-printed; long ones are folded in the UI.
 */
export interface MetadataEntry {
  readonly key: string;
  readonly raw: string;
  /** The value to show: pretty-printed JSON when the string held JSON, else the string. */
  readonly display: string;
  readonly isJson: boolean;
  /** "JSON object, 312 keys", "JSON array, 4 items", "12 characters". */
  readonly description: string;
  readonly folded: boolean;
}

/** Values longer than this, or spanning more lines, start folded. */
const FOLD_CHARACTERS = 240;
const FOLD_LINES = 8;
const MAX_NESTING = 4;

function looksLikeJson(text: string): boolean {
  const t = text.trim();
  return (t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'));
}

/** Parses JSON and, inside it, strings that are themselves JSON objects or arrays. */
export function expandJson(text: string, depth = 0): { ok: true; value: unknown } | { ok: false } {
  if (depth > MAX_NESTING || !looksLikeJson(text)) return { ok: false };
  try {
    return { ok: true, value: expandNested(JSON.parse(text), depth) };
  } catch {
    return { ok: false };
  }
}

function expandNested(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    const inner = expandJson(value, depth + 1);
    return inner.ok ? inner.value : value;
  }
  if (Array.isArray(value)) return value.map((v) => expandNested(v, depth));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandNested(v, depth)]));
  }
  return value;
}

function describe(value: unknown, raw: string): string {
  if (Array.isArray(value)) return `JSON array, ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value).length;
    return `JSON object, ${keys} key${keys === 1 ? '' : 's'}`;
  }
  return `${raw.length} character${raw.length === 1 ? '' : 's'}`;
}

export function metadataEntries(metadata: Readonly<Record<string, string>>): MetadataEntry[] {
  return Object.entries(metadata).map(([key, raw]) => {
    const parsed = expandJson(raw);
    const display = parsed.ok ? JSON.stringify(parsed.value, null, 2) : raw;
    const lines = display.split('\n').length;
    return {
      key,
      raw,
      display,
      isJson: parsed.ok,
      description: describe(parsed.ok ? parsed.value : undefined, raw),
      folded: display.length > FOLD_CHARACTERS || lines > FOLD_LINES,
    };
  });
}
