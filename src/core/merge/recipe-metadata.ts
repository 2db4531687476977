/**
 * The recipe that re-creates a merge, read from the metadata ZipLoRA writes into the merged LoRA and its sidecar
 * (`ziplora_recipe`). Format 2 stores the recipe itself; format 1 (two-way merges before recipes existed) stored
 * the settings and `ziplora_sources` ({ role, file }), from which the same merge's recipe is rebuilt.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SafetensorsError } from '../safetensors/errors';
import { withSafetensors } from '../safetensors/reader';
import { Recipe, RecipeInput } from './recipe';
import { checkRecipeText } from './recipe-check';
import { isSidecar, SIDECAR_SUFFIX, sidecarPathFor } from './request';

/** Where a merge's metadata came from, for messages. */
export interface MergeMetadata {
  readonly file: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** The merged LoRA's file name, for the recipe's output. */
  readonly mergedFile: string;
}

function parsed(source: MergeMetadata, key: string): unknown {
  try {
    return JSON.parse(source.metadata[key]);
  } catch {
    throw new SafetensorsError(source.file, `its ${key} metadata is not valid JSON`, 'the file was changed after the merge; merge again to get a recipe');
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Format 1: two inputs named by role, weights only in a direct merge (ZipLoRA then used them for its baseline only). */
function recipeFromFormat1(source: MergeMetadata, stored: Record<string, unknown>): Recipe {
  const sources = source.metadata.ziplora_sources ? parsed(source, 'ziplora_sources') : undefined;
  const byRole = (role: string) => (Array.isArray(sources) ? sources.find((s) => isObject(s) && s.role === role) : undefined) as { file?: unknown } | undefined;
  const content = byRole('content');
  const style = byRole('style');
  if (typeof content?.file !== 'string' || typeof style?.file !== 'string') {
    throw new SafetensorsError(source.file, 'its ziplora_sources metadata does not name the content and style files', 'merge again to get a recipe');
  }
  const direct = stored.method === 'direct';
  const weights = direct && Array.isArray(stored.directWeights) ? stored.directWeights : [1, 1];
  const inputs: RecipeInput[] = [
    { path: content.file, weight: weights[0] as number },
    { path: style.file, weight: weights[1] as number },
  ];
  const adam = !direct && stored.solver === 'adam';
  return {
    inputs,
    output: source.mergedFile,
    method: direct ? 'direct' : 'ziplora',
    ...(direct ? {} : { solver: adam ? 'adam' : 'newton', lambda: stored.lambda as number }),
    ...(adam ? { steps: stored.steps as number, learningRate: stored.lr as number } : {}),
    ...(typeof stored.columns === 'string' ? { columns: stored.columns as Recipe['columns'] } : {}),
    ...(typeof stored.rank === 'number' ? { rank: stored.rank } : {}),
    // Format 1 did not record the naming: the default then was the content file's, which `first` is.
    naming: 'first',
  };
}

/**
 * The recipe stored in a merge's metadata, checked as a recipe file is. Throws a SafetensorsError naming the file
 * when there is none (not a ZipLoRA merge, or its metadata was stripped) or it cannot be read.
 */
export function recipeFromMetadata(source: MergeMetadata): Recipe {
  if (source.metadata.ziplora_recipe === undefined) {
    throw new SafetensorsError(source.file, 'has no ziplora_recipe metadata', 'it was not written by `ziplora merge`, or its metadata was removed; a sidecar OUT.ziplora.safetensors beside it would hold the recipe too');
  }
  const stored = parsed(source, 'ziplora_recipe');
  if (!isObject(stored)) throw new SafetensorsError(source.file, 'its ziplora_recipe metadata is not an object', 'merge again to get a recipe');
  const recipe = Array.isArray(stored.inputs) ? (stored as Recipe) : recipeFromFormat1(source, stored);
  const { problems } = checkRecipeText(JSON.stringify(recipe));
  if (problems.length) {
    const [first] = problems;
    throw new SafetensorsError(source.file, `its ziplora_recipe is not a recipe this version reads: ${first.jsonPath ? `${first.jsonPath}: ` : ''}${first.message}`, 'it may come from a newer ziplora; update, or merge again');
  }
  return recipe;
}

async function metadataOf(file: string): Promise<MergeMetadata> {
  const metadata = await withSafetensors(file, async (read) => read.metadata);
  const mergedFile = isSidecar(file) ? (metadata.ziplora_merged_file ?? path.basename(file).replace(SIDECAR_SUFFIX, '.safetensors')) : path.basename(file);
  return { file, metadata, mergedFile };
}

/**
 * The recipe of a merge, from the merged LoRA's metadata, or from its sidecar when the merged file has none (a
 * tool that rewrote it may have dropped the metadata); `file` may also be the sidecar itself.
 */
export async function readMergeRecipe(file: string): Promise<Recipe> {
  const merged = await metadataOf(file);
  if (merged.metadata.ziplora_recipe !== undefined || isSidecar(file)) return recipeFromMetadata(merged);
  const sidecar = sidecarPathFor(file);
  if (!existsSync(sidecar)) return recipeFromMetadata(merged);
  return recipeFromMetadata({ ...(await metadataOf(sidecar)), mergedFile: path.basename(file) });
}
