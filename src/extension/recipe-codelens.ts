/** The "Merge" and "Compare inputs" CodeLenses at the top of a recipe file (`*.ziplora.json`). */
import * as vscode from 'vscode';
import { isRecipeDocument } from './recipe-diagnostics';

export const RECIPE_SELECTOR: vscode.DocumentSelector = { scheme: 'file', pattern: '**/*.ziplora.json' };

export class RecipeCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!isRecipeDocument(document)) return [];
    // Above the first line: the recipe as a whole, whatever its first key.
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(play) Merge', tooltip: 'Run this recipe (as `ziplora merge --recipe` does)', command: 'ziplora.mergeRecipe', arguments: [document.uri] }),
      new vscode.CodeLens(top, { title: 'Compare inputs', tooltip: "How much the inputs' columns overlap, per layer and per block", command: 'ziplora.compareRecipeInputs', arguments: [document.uri] }),
    ];
  }
}
