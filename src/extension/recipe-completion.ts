/** Completion of block names in a recipe's `blocks[i].block`, from its inputs (keys and values come from the schema). */
import path from 'node:path';
import * as vscode from 'vscode';
import { checkRecipeText } from '../core/merge/recipe-check';
import { blockCompletionSite, blockSuggestions } from '../core/merge/recipe-completion';
import { BlockNameCache } from './recipe-block-names';
import { isRecipeDocument } from './recipe-diagnostics';

/** The recipe's input files that are named well enough to read, resolved against its folder. */
function inputFiles(value: unknown, dir: string): string[] {
  const inputs = (value as { inputs?: unknown } | undefined)?.inputs;
  if (!Array.isArray(inputs)) return [];
  return inputs.flatMap((input) => (typeof input?.path === 'string' && input.path !== '' ? [path.resolve(dir, input.path)] : []));
}

export class RecipeCompletionProvider implements vscode.CompletionItemProvider {
  constructor(private readonly blockNames: BlockNameCache) {}

  async provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.CompletionItem[] | undefined> {
    if (!isRecipeDocument(document)) return undefined;
    const text = document.getText();
    const site = blockCompletionSite(text, document.offsetAt(position));
    if (!site) return undefined;
    const files = inputFiles(checkRecipeText(text).value, path.dirname(document.uri.fsPath));
    // An input that cannot be read has its own diagnostic; the others still complete.
    const names = (await Promise.all(files.map((file) => this.blockNames.get(file).catch(() => [])))).flat();
    const range = new vscode.Range(document.positionAt(site.offset), document.positionAt(site.offset + site.length));
    return blockSuggestions(names).map((suggestion, index) => {
      const item = new vscode.CompletionItem(suggestion.name, suggestion.blocks > 1 ? vscode.CompletionItemKind.Folder : vscode.CompletionItemKind.Module);
      item.insertText = site.quote ? JSON.stringify(suggestion.name) : suggestion.name;
      item.range = range;
      item.sortText = String(index).padStart(5, '0');
      item.detail = suggestion.blocks > 1 ? `every block under it (${suggestion.blocks})` : 'a block of the inputs';
      return item;
    });
  }
}
