/**
 * Recipe files in VS Code: diagnostics while editing, the CodeLenses, and their commands. `ziplora.mergeRecipe`
 * runs a recipe through the merge runner exactly as `ziplora merge --recipe` reads it (recipe-file.ts); the
 * recipe decides the merge, and only how this machine computes it comes from the settings (backend, threads,
 * sparsity threshold). `ziplora.compareRecipeInputs` compares the recipe's inputs.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { MergeSummary } from '../core/merge/request';
import { checkRecipe, loadRecipeRequest, RecipeError } from '../core/merge/recipe-file';
import { recipeProblemLine, Recipe } from '../core/merge/recipe';
import { describeError } from '../core/safetensors/errors';
import { ComparisonView } from '../shared/webview-protocol';
import { showComparisonPanel } from './compare-panel';
import { DisposableSet } from './disposables';
import { Log } from './log';
import { readMergeSettings } from './merge-arguments';
import { MergeRunner } from './merge-runner';
import { BlockNameCache } from './recipe-block-names';
import { RECIPE_SELECTOR, RecipeCodeLensProvider } from './recipe-codelens';
import { RecipeCompletionProvider } from './recipe-completion';
import { isRecipeDocument, RecipeDiagnostics } from './recipe-diagnostics';

/** What `ziplora.mergeRecipe` accepts after the recipe (other extensions, tests). */
export interface MergeRecipeOptions {
  /** Replace an existing output without asking. */
  readonly overwrite?: boolean;
}

/** The recipe a command is about: the argument, else the active editor's recipe, else one the user picks. */
async function recipeFile(target: vscode.Uri | string | undefined): Promise<string | undefined> {
  if (typeof target === 'string') return target;
  if (target instanceof vscode.Uri) return target.fsPath;
  const active = vscode.window.activeTextEditor?.document;
  if (active && isRecipeDocument(active)) return active.uri.fsPath;
  const picked = await vscode.window.showOpenDialog({ title: 'ZipLoRA: a merge recipe (NAME.ziplora.json)', canSelectMany: false, filters: { 'ZipLoRA recipe': ['json'] } });
  return picked?.[0]?.fsPath;
}

/** Unsaved edits are what the user sees: save them, so that the merge runs what the editor shows. */
async function saveIfDirty(file: string): Promise<void> {
  const open = vscode.workspace.textDocuments.find((document) => document.uri.scheme === 'file' && document.uri.fsPath === file);
  if (open?.isDirty) await open.save();
}

/** A refused recipe: every line in the log, the first in the notification (the diagnostics point at each). */
function showRecipeError(log: Log, title: string, lines: readonly string[]): void {
  for (const line of lines) log.line(`error: ${line}`);
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more problem${lines.length > 2 ? 's' : ''}: see the Problems view)` : '';
  void vscode.window.showErrorMessage(`ZipLoRA: ${title}: ${lines[0]}${more}`);
}

async function mergeRecipe(runner: MergeRunner, log: Log, target: vscode.Uri | string | undefined, options: MergeRecipeOptions = {}): Promise<MergeSummary | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Merging writes files and runs a worker process, so it needs a trusted workspace. Inspecting works without trust.');
    return undefined;
  }
  const file = await recipeFile(target);
  if (!file) return undefined;
  await saveIfDirty(file);
  const settings = readMergeSettings((key) => vscode.workspace.getConfiguration('ziplora').get(key));
  let request;
  try {
    request = await loadRecipeRequest(file, { backend: settings.backend, threads: settings.threads, sparsityThreshold: settings.sparsityThreshold });
  } catch (error) {
    showRecipeError(log, `recipe ${path.basename(file)}`, error instanceof RecipeError ? error.lines : [describeError(error)]);
    return undefined;
  }
  let overwrite = Boolean(options.overwrite);
  if (!overwrite && existsSync(request.output)) {
    const replace = 'Replace';
    const choice = await vscode.window.showWarningMessage(`${path.basename(request.output)} already exists. Replace it with this recipe's merge?`, { modal: true }, replace);
    if (choice !== replace) return undefined;
    overwrite = true;
  }
  log.line(`recipe ${file}`);
  return runner.run({ ...request, overwrite });
}

/** The recipe's inputs, resolved; or undefined after showing why they cannot be compared. */
async function recipeInputs(log: Log, file: string): Promise<string[] | undefined> {
  const text = await vscode.workspace.fs.readFile(vscode.Uri.file(file)).then((bytes) => Buffer.from(bytes).toString('utf8'));
  const dir = path.dirname(file);
  const { value, problems } = await checkRecipe(text, dir);
  // Only problems of the inputs (or of the JSON itself) stop a comparison; a bad λ does not.
  const blocking = problems.filter((problem) => problem.jsonPath === '' || problem.jsonPath.startsWith('inputs'));
  if (blocking.length) {
    showRecipeError(log, `compare the inputs of ${path.basename(file)}`, blocking.map((problem) => recipeProblemLine(file, text, problem)));
    return undefined;
  }
  return (value as Recipe).inputs.map((input) => path.resolve(dir, input.path));
}

async function compareRecipeInputs(log: Log, extensionUri: vscode.Uri, panels: DisposableSet, target: vscode.Uri | string | undefined): Promise<unknown> {
  const file = await recipeFile(target);
  if (!file) return undefined;
  await saveIfDirty(file);
  const files = await recipeInputs(log, file);
  if (!files) return undefined;
  // Two inputs: the two-file form every version of the compare command takes; more: its N-way form.
  const args = files.length === 2 ? { first: files[0], second: files[1] } : { files };
  const report = await vscode.commands.executeCommand<{ view?: ComparisonView } | undefined>('ziplora.compareLoras', args);
  // Given files, the compare command returns its report without a panel: the person who clicked wants to see it.
  if (report?.view) showComparisonPanel(extensionUri, report.view, panels);
  return report;
}

/** Diagnostics, CodeLenses, block-name completion and the two recipe commands. */
export function registerRecipeFeatures(context: vscode.ExtensionContext, runner: MergeRunner, log: Log): void {
  const panels = new DisposableSet();
  const blockNames = new BlockNameCache();
  context.subscriptions.push(
    panels,
    new RecipeDiagnostics(blockNames),
    vscode.languages.registerCodeLensProvider(RECIPE_SELECTOR, new RecipeCodeLensProvider()),
    vscode.languages.registerCompletionItemProvider(RECIPE_SELECTOR, new RecipeCompletionProvider(blockNames), '"', '.'),
    vscode.commands.registerCommand('ziplora.mergeRecipe', (target?: vscode.Uri | string, options?: MergeRecipeOptions) => mergeRecipe(runner, log, target, options)),
    vscode.commands.registerCommand('ziplora.compareRecipeInputs', (target?: vscode.Uri | string) => compareRecipeInputs(log, context.extensionUri, panels, target)),
  );
}
