/** `ziplora recipe MERGED.safetensors`: prints the recipe that re-creates a merge (run it with `ziplora merge --recipe`). */
import { parseArgs } from 'node:util';
import { recipeText } from '../core/merge/recipe';
import { readMergeRecipe } from '../core/merge/recipe-metadata';
import { CLI_OPTIONS, UsageError } from './usage';

export async function runRecipe(args: string[], out: (text: string) => void): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: CLI_OPTIONS.recipe });
  if (positionals.length !== 1) throw new UsageError(`recipe takes one merged LoRA (got ${positionals.length} files)`);
  out(recipeText(await readMergeRecipe(positionals[0])).trimEnd());
}
