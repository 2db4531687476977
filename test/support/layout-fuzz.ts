/**
 * Fuzzing the newer families' LoRAs: small LoRAs built from the layouts in test/fixtures
 * (real module names and widths, rank 2–4), mutated in their header, shapes, dtypes, alphas and values, then
 * run through `inspect`, `compare` and `merge`. Every run must end in a result or in one line of error: no
 * JavaScript error escaping as such (a TypeError is a crash), no hang, no file left behind. Seeded: the same
 * seed gives the same cases.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BaseModelFamily } from '../../src/core/lora/naming';
import { GeneratedScheme, LayerSpec, layersFromLayout, randomLayerValues, seededRandom, withRank, writeLora } from './lora-generators';
import { withKohyaNames } from './family-fixtures';
import { fileFromHeader, rawFile } from './build-safetensors';

export interface FuzzFamily {
  readonly family: BaseModelFamily;
  readonly layout: string;
  /** Modules kept from the layout: its first block (or first few layers), so that files stay small. */
  readonly keep: (layer: LayerSpec) => boolean;
}

const firstBlock = (container: string) => (l: LayerSpec) => new RegExp(`\\.${container}\\.0\\.`).test(l.canonical);

export const FUZZ_FAMILIES: readonly FuzzFamily[] = [
  { family: 'flux', layout: 'flux1-dev-transformer.layout.json', keep: (l) => /\.(double|single)_blocks\.0\./.test(l.canonical) },
  { family: 'sd3', layout: 'sd3.5-large-transformer.layout.json', keep: firstBlock('joint_blocks') },
  { family: 'wan', layout: 'wan2.1-14b-transformer.layout.json', keep: firstBlock('blocks') },
  { family: 'qwen-image', layout: 'qwen-image-transformer.layout.json', keep: firstBlock('transformer_blocks') },
  { family: 'z-image', layout: 'z-image-transformer.layout.json', keep: firstBlock('layers') },
];

/** A header as read from a file: tensor entries and maybe `__metadata__`. */
type Header = Record<string, unknown>;
interface Entry {
  dtype: unknown;
  shape: unknown;
  data_offsets: unknown;
}

export interface ParsedFile {
  readonly header: Header;
  readonly data: Uint8Array;
}

export function parseFile(bytes: Uint8Array): ParsedFile {
  const length = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + length)).toString('utf8')) as Header;
  return { header, data: bytes.slice(8 + length) };
}

/** A LoRA of `family` in a scheme, rank `rank`, seeded values: the file the mutations start from. */
export async function baseLora(dir: string, family: FuzzFamily, scheme: GeneratedScheme, rank: number, seed: number): Promise<string> {
  const layers = layersFromLayout(family.layout, rank).filter(family.keep).slice(0, 12);
  const named = scheme === 'kohya' ? withKohyaNames(layers) : layers;
  const file = path.join(dir, `${family.family}-${scheme}-r${rank}-${seed}.safetensors`);
  const random = seededRandom(seed);
  await writeLora(file, withRank(named, rank), (l) => randomLayerValues(l, random), { scheme, family: family.family, dtype: 'F16' });
  return file;
}

export interface Mutation {
  readonly name: string;
  /** Returns the mutated file's bytes. */
  readonly apply: (file: ParsedFile, random: () => number) => Uint8Array;
}

const tensorNames = (h: Header) => Object.keys(h).filter((k) => k !== '__metadata__');
const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)];
const entryOf = (h: Header, name: string) => h[name] as Entry;
const clone = (h: Header): Header => JSON.parse(JSON.stringify(h)) as Header;
const named = (h: Header, pattern: RegExp) => tensorNames(h).filter((n) => pattern.test(n));
/** A header change: the data stays as it was (so offsets may no longer match). */
const headerChange = (name: string, change: (h: Header, random: () => number) => void): Mutation => ({
  name,
  apply: ({ header, data }, random) => {
    const h = clone(header);
    change(h, random);
    return fileFromHeader(h, data);
  },
});
/** A change to the values of one tensor (F16 bytes): the header stays. */
const valueChange = (name: string, pattern: RegExp, value: number): Mutation => ({
  name,
  apply: ({ header, data }, random) => {
    const names = named(header, pattern);
    if (!names.length) return fileFromHeader(header, data);
    const target = pick(names, random);
    const [start, end] = entryOf(header, target).data_offsets as [number, number];
    const copy = data.slice();
    const view = new DataView(copy.buffer);
    const half = Number.isNaN(value) ? 0x7e00 : value === Infinity ? 0x7c00 : value === -Infinity ? 0xfc00 : 0;
    const at = start + 2 * Math.floor(random() * ((end - start) / 2));
    view.setUint16(at, half, true);
    return fileFromHeader(header, copy);
  },
});
/** A tensor given `bytes` bytes of data (its first ones), the later tensors' offsets shifted: a consistent file. */
const resized = (name: string, pattern: RegExp, dtype: string, divisor: number): Mutation => ({
  name,
  apply: ({ header, data }, random) => {
    const h = clone(header);
    const target = pick(named(h, pattern), random);
    const [start, end] = entryOf(h, target).data_offsets as [number, number];
    const bytes = (end - start) / divisor;
    for (const n of tensorNames(h)) {
      const e = entryOf(h, n);
      const [a, b] = e.data_offsets as [number, number];
      if (a > start) e.data_offsets = [a - (end - start - bytes), b - (end - start - bytes)];
    }
    Object.assign(entryOf(h, target), { dtype, data_offsets: [start, start + bytes] });
    return fileFromHeader(h, Buffer.concat([data.subarray(0, start + bytes), data.subarray(end)]));
  },
});
const DOWN = /(lora_down|lora_A|lora\.down)\.weight$/;
const UP = /(lora_up|lora_B|lora\.up)\.weight$/;
const ALPHA = /\.alpha$/;

export const MUTATIONS: readonly Mutation[] = [
  { name: 'unchanged', apply: ({ header, data }) => fileFromHeader(header, data) },
  { name: 'header cut short', apply: ({ header, data }, random) => { const json = JSON.stringify(header); return rawFile(json.slice(0, Math.floor(random() * json.length)), data); } },
  { name: 'header length past the end', apply: ({ header, data }) => rawFile(JSON.stringify(header), data, BigInt(1e12)) },
  { name: 'header not an object', apply: ({ data }) => rawFile('[1,2,3]', data) },
  { name: 'header garbage bytes', apply: ({ header, data }, random) => { const b = Buffer.from(JSON.stringify(header)); for (let i = 0; i < 8; i++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256); return rawFile(b, data); } },
  { name: 'data cut short', apply: ({ header, data }, random) => fileFromHeader(header, data.subarray(0, Math.floor(random() * data.length))) },
  { name: 'metadata values not strings', apply: ({ header, data }) => fileFromHeader({ ...header, __metadata__: { ss_network_dim: 4, ss_network_alpha: null, ss_base_model_version: ['flux'] } }, data) },
  headerChange('offsets overlap', (h, r) => { const n = pick(tensorNames(h), r); entryOf(h, n).data_offsets = [0, (entryOf(h, n).data_offsets as number[])[1] - (entryOf(h, n).data_offsets as number[])[0]]; }),
  headerChange('offsets negative', (h, r) => { entryOf(h, pick(tensorNames(h), r)).data_offsets = [-8, 4]; }),
  headerChange('offsets not numbers', (h, r) => { entryOf(h, pick(tensorNames(h), r)).data_offsets = ['0', null]; }),
  headerChange('shape missing', (h, r) => { delete (entryOf(h, pick(tensorNames(h), r)) as Partial<Entry>).shape; }),
  headerChange('shape with a fraction', (h, r) => { const e = entryOf(h, pick(named(h, DOWN), r)); e.shape = [(e.shape as number[])[0] + 0.5, (e.shape as number[])[1]]; }),
  headerChange('shape huge', (h, r) => { entryOf(h, pick(named(h, UP), r)).shape = [2 ** 53, 2 ** 40]; }),
  headerChange('shape with a zero', (h, r) => { const e = entryOf(h, pick(named(h, DOWN), r)); e.shape = [0, (e.shape as number[])[1]]; }),
  headerChange('down 1-D', (h, r) => { const e = entryOf(h, pick(named(h, DOWN), r)); e.shape = [(e.shape as number[]).reduce((a, b) => a * b, 1)]; }),
  headerChange('down 3-D', (h, r) => { const e = entryOf(h, pick(named(h, DOWN), r)); e.shape = [1, ...(e.shape as number[])]; }),
  headerChange('up and down transposed', (h, r) => { const e = entryOf(h, pick(named(h, UP), r)); e.shape = [...(e.shape as number[])].reverse(); }),
  headerChange('rank mismatch inside a layer', (h, r) => { const e = entryOf(h, pick(named(h, DOWN), r)); const [rank, cols] = e.shape as number[]; e.shape = [rank * 2, cols / 2]; }),
  headerChange('dtype unknown', (h, r) => { entryOf(h, pick(tensorNames(h), r)).dtype = 'F12'; }),
  headerChange('dtype integer', (h, r) => { entryOf(h, pick(named(h, DOWN), r)).dtype = 'I16'; }),
  resized('dtype one byte', UP, 'F8_E4M3', 2),
  headerChange('dtype wider than the data', (h, r) => { entryOf(h, pick(named(h, DOWN), r)).dtype = 'F32'; }),
  resized('dtype BOOL', UP, 'BOOL', 2),
  resized('dtype F64', DOWN, 'F64', 0.25),
  headerChange('up removed', (h, r) => { delete h[pick(named(h, UP), r)]; }),
  headerChange('down removed', (h, r) => { delete h[pick(named(h, DOWN), r)]; }),
  headerChange('every tensor removed', (h) => { for (const n of tensorNames(h)) delete h[n]; }),
  headerChange('alpha with two values', (h, r) => { const names = named(h, ALPHA); if (names.length) entryOf(h, pick(names, r)).shape = [2]; }),
  headerChange('alpha as I64', (h, r) => { const names = named(h, ALPHA); if (names.length) { const e = entryOf(h, pick(names, r)); e.dtype = 'I64'; e.shape = []; } }),
  headerChange('alpha removed', (h, r) => { const names = named(h, ALPHA); if (names.length) delete h[pick(names, r)]; }),
  headerChange('name empty', (h, r) => { const n = pick(tensorNames(h), r); h[''] = h[n]; delete h[n]; }),
  headerChange('name with a dot too many', (h, r) => { const n = pick(named(h, DOWN), r); h[n.replace(/\.weight$/, '..weight')] = h[n]; delete h[n]; }),
  valueChange('NaN in a down', DOWN, NaN),
  valueChange('+Inf in an up', UP, Infinity),
  valueChange('-Inf in a down', DOWN, -Infinity),
  valueChange('zero alpha', ALPHA, 0),
  valueChange('NaN alpha', ALPHA, NaN),
  valueChange('Inf alpha', ALPHA, Infinity),
];

export interface FuzzCase {
  readonly label: string;
  readonly family: FuzzFamily;
  readonly mutation: Mutation;
  /** Which side of a pair is mutated; the other is a valid LoRA of the same family (another scheme or rank). */
  readonly side: 'content' | 'style';
  readonly seed: number;
}

/**
 * `count` cases from a seed: case i takes mutation i mod M and family i mod F (M and F coprime), so the first M
 * cases try every mutation and the first M·F every (family, mutation) pair; the seed picks sides and values.
 */
export function fuzzCases(seed: number, count: number): FuzzCase[] {
  const random = seededRandom(seed);
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const family = FUZZ_FAMILIES[i % FUZZ_FAMILIES.length];
    const mutation = MUTATIONS[i % MUTATIONS.length];
    // Alphas are in the kohya (content) file only.
    const side = /alpha/.test(mutation.name) || random() < 0.5 ? 'content' : 'style';
    cases.push({ label: `${family.family} / ${mutation.name} / ${side} / #${i}`, family, mutation, side, seed: Math.floor(random() * 1e9) });
  }
  return cases;
}

/** Writes a case's pair into `dir`: the mutated side and the valid other side. */
export async function writeCase(dir: string, c: FuzzCase): Promise<{ content: string; style: string }> {
  const content = await baseLora(dir, c.family, 'kohya', 2, c.seed);
  const style = await baseLora(dir, c.family, 'native-diffusion-model', 4, c.seed + 1);
  const target = c.side === 'content' ? content : style;
  const mutated = c.mutation.apply(parseFile(readFileSync(target)), seededRandom(c.seed + 2));
  writeFileSync(target, mutated);
  return { content, style };
}

/** Errors that are the program's own fault, not the file's: a crash, whatever the message says. */
const CRASH_NAMES = ['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'AssertionError', 'InternalError'];
const CRASH_WORDS = /cannot read prop|is not a function|is not iterable|undefined|maximum call stack|invalid array length|internal error|out of memory/i;

/** Why an error thrown by a command is a crash, or undefined when it is a proper one-line refusal. */
export function crashIn(error: unknown, message: string): string | undefined {
  if (!(error instanceof Error)) return `threw a non-Error: ${String(error)}`;
  if (CRASH_NAMES.includes(error.constructor.name) || CRASH_NAMES.includes(error.name)) return `${error.name}: ${error.message}\n${error.stack}`;
  if (message.includes('\n')) return `a message of several lines: ${message}`;
  if (CRASH_WORDS.test(message)) return `an internal-looking message: ${message}`;
  return undefined;
}

/** Rejects after `ms` (a hang is a failure too). */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what} took over ${ms} ms`)), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Files in `dir` other than `expected` (names): what a run left behind. */
export function leftBehind(dir: string, expected: readonly string[]): string[] {
  return readdirSync(dir).filter((f) => !expected.includes(f));
}
