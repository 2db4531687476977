/**
 * Diagnostics for open recipe files (`*.ziplora.json`): the recipe checks (src/core/merge/recipe-file.ts, the same
 * the CLI runs), each on the JSON node at fault. The schema the extension contributes gives completion and the
 * editor's own first checks; these add what a schema cannot know (a missing input, a block no input has) and
 * say what to do in the words the CLI uses.
 */
import path from 'node:path';
import * as vscode from 'vscode';
import { RECIPE_SUFFIX } from '../core/merge/recipe';
import { RecipeProblem } from '../core/merge/recipe-check';
import { checkRecipe } from '../core/merge/recipe-file';
import { DisposableSet } from './disposables';
import { BlockNameCache } from './recipe-block-names';

export const RECIPE_DIAGNOSTIC_SOURCE = 'ZipLoRA recipe';
/** Rechecking waits this long after the last keystroke: the file checks open the inputs. */
const RECHECK_DELAY_MS = 300;

export function isRecipeDocument(document: vscode.TextDocument): boolean {
  return document.uri.scheme === 'file' && document.fileName.endsWith(RECIPE_SUFFIX);
}

function toDiagnostic(document: vscode.TextDocument, problem: RecipeProblem): vscode.Diagnostic {
  const range = new vscode.Range(document.positionAt(problem.offset), document.positionAt(problem.offset + problem.length));
  const diagnostic = new vscode.Diagnostic(range, problem.jsonPath ? `${problem.jsonPath}: ${problem.message}` : problem.message, vscode.DiagnosticSeverity.Error);
  diagnostic.source = RECIPE_DIAGNOSTIC_SOURCE;
  return diagnostic;
}

export class RecipeDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('ziplora-recipe');
  private readonly disposables = new DisposableSet();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  constructor(private readonly blockNames: BlockNameCache) {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.safetensors');
    // An input copied in, removed or rewritten changes what the open recipes' file checks say.
    const recheckAll = () => vscode.workspace.textDocuments.filter(isRecipeDocument).forEach((document) => this.schedule(document));
    this.disposables.add(this.collection);
    this.disposables.add(watcher);
    this.disposables.add(watcher.onDidCreate(recheckAll));
    this.disposables.add(watcher.onDidDelete(recheckAll));
    this.disposables.add(watcher.onDidChange(recheckAll));
    this.disposables.add(vscode.workspace.onDidOpenTextDocument((document) => this.schedule(document, 0)));
    this.disposables.add(vscode.workspace.onDidChangeTextDocument((event) => this.schedule(event.document)));
    this.disposables.add(
      vscode.workspace.onDidCloseTextDocument((document) => {
        clearTimeout(this.timers.get(document.uri.toString()));
        this.timers.delete(document.uri.toString());
        this.collection.delete(document.uri);
      }),
    );
    for (const document of vscode.workspace.textDocuments) this.schedule(document, 0);
  }

  /** Checks `document` after `delayMs` without a further change (later calls replace earlier ones). */
  schedule(document: vscode.TextDocument, delayMs = RECHECK_DELAY_MS): void {
    if (!isRecipeDocument(document)) return;
    const key = document.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.check(document);
      }, delayMs),
    );
  }

  /** Checks the document's current text now; a result that arrives after a newer edit is dropped. */
  async check(document: vscode.TextDocument): Promise<readonly vscode.Diagnostic[]> {
    const version = document.version;
    const { problems } = await checkRecipe(document.getText(), path.dirname(document.uri.fsPath), (file) => this.blockNames.get(file));
    if (document.isClosed || document.version !== version) return [];
    const diagnostics = problems.map((problem) => toDiagnostic(document, problem));
    this.collection.set(document.uri, diagnostics);
    return diagnostics;
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.disposables.dispose();
  }
}
