/**
 * The ZipLoRA commands. Each accepts arguments (from other extensions, keybindings and tests) and only asks
 * for what was not given.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { MergeOptionKey, optionProblem } from '../core/merge/merge-options';
import { isSidecar, MAX_INPUTS, MergeInput, MergeSummary, MIN_INPUTS } from '../core/merge/request';
import { LambdaSetting } from '../core/merge/types';
import { runWorkerTask } from '../worker/client';
import { Log } from './log';
import { buildMergeRequest, defaultOutputPath, givenInputs, inapplicableCommandArgs, inapplicableSettings, MergeCommandArgs, readMergeSettings, validateMergeCommandArgs } from './merge-arguments';
import { SAFETENSORS_EDITOR_VIEW_TYPE } from './editor/view-type';
import { MergeRunner } from './merge-runner';
import { showComparisonPanel } from './compare-panel';
import { DisposableSet } from './disposables';

const BROWSE = '$(folder-opened) Browse…';

async function pickSafetensors(title: string, exclude: string[] = []): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/*.safetensors', '**/node_modules/**', 2000);
  const files = found.map((u) => u.fsPath).filter((f) => !isSidecar(f) && !exclude.includes(f)).sort();
  const items: vscode.QuickPickItem[] = [
    ...files.map((f) => ({ label: path.basename(f), description: vscode.workspace.asRelativePath(path.dirname(f)), detail: f })),
    { label: BROWSE, alwaysShow: true },
  ];
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'A LoRA in the workspace, or browse for one', matchOnDescription: true });
  if (!picked) return undefined;
  if (picked.label !== BROWSE) return picked.detail;
  const chosen = await vscode.window.showOpenDialog({ title, canSelectMany: false, filters: { LoRA: ['safetensors'] } });
  return chosen?.[0]?.fsPath;
}

/** Asks for an option's number, checked by that option's rule (merge-options.ts). */
async function askNumber(title: string, value: number, option: MergeOptionKey): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title,
    value: String(value),
    validateInput: (t) => optionProblem(option, t.trim() === '' ? NaN : Number(t), option, t),
  });
  return text === undefined ? undefined : Number(text);
}

type CompleteArgs = MergeCommandArgs & { inputs: readonly MergeInput[]; output: string };

/** Asks for whatever the arguments leave open; undefined when the user stops. */
async function completeArgs(given: MergeCommandArgs, askOptions: boolean): Promise<CompleteArgs | undefined> {
  const settings = readMergeSettings((key) => vscode.workspace.getConfiguration('ziplora').get(key));
  let inputs = givenInputs(given);
  // Fewer than two inputs given: the two-file wording (content, then style), as the menus that start it name them.
  if (inputs.length < 2) {
    const content = given.content ?? (await pickSafetensors('ZipLoRA: content (subject) LoRA', given.style ? [given.style] : []));
    if (!content) return undefined;
    const style = given.style ?? (await pickSafetensors('ZipLoRA: style LoRA', [content]));
    if (!style) return undefined;
    inputs = [{ path: content, weight: 1 }, { path: style, weight: 1 }];
  }
  const files = inputs.map((input) => input.path);
  // The request carries inputs; content and style were only their two-file spelling.
  const { content: _content, style: _style, ...rest } = given;
  // With the files given (other extensions, tests), nothing else is asked: settings and defaults apply.
  if (givenInputs(given).length >= 2 && !askOptions) return { ...rest, inputs, output: given.output ?? defaultOutputPath(files, existsSync) };
  let { method, steps, lambda, output } = given;
  if (!method) {
    const choice = await vscode.window.showQuickPick(
      [
        { label: 'ZipLoRA', description: 'learned per-column coefficients (recommended)', method: 'ziplora' as const },
        { label: 'Direct merge', description: 'the plain sum of the weighted ΔW', method: 'direct' as const },
      ],
      { title: 'ZipLoRA: merge method' },
    );
    if (!choice) return undefined;
    method = choice.method;
  }
  if (method === 'ziplora') {
    // The Newton solver stops on convergence: steps are asked only for the Adam recipe.
    if ((given.solver ?? settings.solver) === 'adam') {
      steps ??= await askNumber('ZipLoRA: Adam steps per layer', settings.steps, 'steps');
      if (steps === undefined) return undefined;
    }
    lambda ??= await askLambda(settings.lambda);
    if (lambda === undefined) return undefined;
  }
  if (!output) {
    const target = await vscode.window.showSaveDialog({
      title: 'ZipLoRA: save the merged LoRA as',
      defaultUri: vscode.Uri.file(defaultOutputPath(files, existsSync)),
      filters: { LoRA: ['safetensors'] },
    });
    if (!target) return undefined;
    output = target.fsPath;
  }
  return { ...rest, inputs, method, steps, lambda, output, overwrite: given.overwrite ?? existsSync(output) };
}

/** λ: a number ≥ 0, or `auto` (read off a short λ path per layer). */
async function askLambda(value: LambdaSetting): Promise<LambdaSetting | undefined> {
  const parse = (t: string): unknown => (t.trim().toLowerCase() === 'auto' ? 'auto' : t.trim() === '' ? NaN : Number(t));
  const text = await vscode.window.showInputBox({
    title: 'ZipLoRA: λ (weight of the overlap penalty), or auto',
    value: String(value),
    validateInput: (t) => optionProblem('lambda', parse(t), 'lambda', t),
  });
  return text === undefined ? undefined : (parse(text) as LambdaSetting);
}

/** A `ziplora.*` setting the user set (in any scope), as opposed to its default. */
function settingIsSet(setting: string): boolean {
  const scopes = vscode.workspace.getConfiguration('ziplora').inspect(setting);
  return scopes?.globalValue !== undefined || scopes?.workspaceValue !== undefined || scopes?.workspaceFolderValue !== undefined;
}

const warned = new Set<string>();
/** Each warning once per session: a setting is a standing choice, not a mistake to repeat on every merge. */
function warnOnce(warnings: readonly string[]): void {
  for (const warning of warnings.filter((w) => !warned.has(w))) {
    warned.add(warning);
    void vscode.window.showWarningMessage(`ZipLoRA: ${warning}; it has no effect on this merge.`);
  }
}

function requireTrust(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage('Merging writes files and runs a worker process, so it needs a trusted workspace. Inspecting works without trust.', 'Manage Workspace Trust').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}

export function registerCommands(context: vscode.ExtensionContext, runner: MergeRunner, log: Log): void {
  /** `askOptions`: a person started this from a menu, so ask for method and options even with both files known. */
  const merge = async (args?: MergeCommandArgs, askOptions = false): Promise<MergeSummary | undefined> => {
    if (!requireTrust()) return undefined;
    const problems = validateMergeCommandArgs(args);
    if (problems.length) {
      void vscode.window.showErrorMessage(`ZipLoRA: Merge LoRAs: ${problems.join('; ')}`);
      return undefined;
    }
    const complete = await completeArgs(args ?? {}, askOptions);
    if (!complete) return undefined;
    const settings = readMergeSettings((key) => vscode.workspace.getConfiguration('ziplora').get(key));
    const request = buildMergeRequest(complete, settings);
    // What applies to which merge: merge-options.ts. Arguments that do not apply are refused, settings warned about once.
    const refused = inapplicableCommandArgs(args ?? {}, request);
    if (refused.length) {
      void vscode.window.showErrorMessage(`ZipLoRA: Merge LoRAs: ${refused.join('; ')}`);
      return undefined;
    }
    warnOnce(inapplicableSettings(request, settingIsSet));
    return runner.run(request, { quiet: givenInputs(args ?? {}).length >= 2 && !askOptions });
  };

  const register = (id: string, handler: (...args: never[]) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, handler));
  register('ziplora.mergeLoras', (args?: MergeCommandArgs) => merge(args));
  register('ziplora.mergeAsContent', (uri?: vscode.Uri) => merge(uri ? { content: uri.fsPath } : {}, true));
  register('ziplora.mergeAsStyle', (uri?: vscode.Uri) => merge(uri ? { style: uri.fsPath } : {}, true));
  register('ziplora.mergeSelected', async (uri?: vscode.Uri, selected?: vscode.Uri[]) => {
    const files = (selected?.length ? selected : uri ? [uri] : []).map((u) => u.fsPath);
    if (files.length < MIN_INPUTS || files.length > MAX_INPUTS) {
      void vscode.window.showErrorMessage(`Select ${MIN_INPUTS} to ${MAX_INPUTS} .safetensors files to merge (${files.length} selected).`);
      return undefined;
    }
    // Three or more: merged in the order selected (input 1 names the output's layers).
    if (files.length > 2) return merge({ inputs: files.map((file) => ({ path: file, weight: 1 })) }, true);
    const content = await vscode.window.showQuickPick(
      files.map((f) => ({ label: path.basename(f), detail: f })),
      { title: 'ZipLoRA: which one is the content (subject) LoRA?' },
    );
    if (!content?.detail) return undefined;
    const style = files.find((f) => f !== content.detail)!;
    return merge({ content: content.detail, style }, true);
  });
  register('ziplora.cancelMerge', () => {
    if (!runner.cancel()) void vscode.window.showInformationMessage('No ZipLoRA merge is running.');
  });
  register('ziplora.inspect', async (uri?: vscode.Uri) => {
    const target = uri ?? activeSafetensors() ?? (await pickSafetensors('ZipLoRA: inspect a .safetensors file').then((f) => (f ? vscode.Uri.file(f) : undefined)));
    if (target) await vscode.commands.executeCommand('vscode.openWith', target, SAFETENSORS_EDITOR_VIEW_TYPE);
    return target?.fsPath;
  });
  const panels = new DisposableSet();
  context.subscriptions.push(panels);
  register('ziplora.compareLoras', (args?: { first?: string; second?: string }) => compareLoras(args, { extensionUri: context.extensionUri, log, panels }));
}

/** Compares two LoRAs in the worker; shows the panel when a person picked the files (callers with paths get the report). */
async function compareLoras(args: { first?: string; second?: string } | undefined, host: { extensionUri: vscode.Uri; log: Log; panels: DisposableSet }) {
  const first = args?.first ?? (await pickSafetensors('ZipLoRA: compare — first LoRA (A)'));
  if (!first) return undefined;
  const second = args?.second ?? (await pickSafetensors('ZipLoRA: compare — second LoRA (B)', [first]));
  if (!second) return undefined;
  try {
    const report = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `ZipLoRA: comparing ${path.basename(first)} and ${path.basename(second)}`, cancellable: true },
      async (_, token) => {
        const controller = new AbortController();
        const cancelling = token.onCancellationRequested(() => controller.abort());
        try {
          return await runWorkerTask({ kind: 'compare', first, second }, controller.signal);
        } finally {
          cancelling.dispose();
        }
      },
    );
    host.log.line(`compared ${first} and ${second}`);
    host.log.line(report.text);
    if (!args?.first) showComparisonPanel(host.extensionUri, report.view, host.panels);
    return report;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message !== 'cancelled') {
      host.log.line(`error: ${message}`);
      void vscode.window.showErrorMessage(`ZipLoRA compare: ${message}`);
    }
    return undefined;
  }
}

function activeSafetensors(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
  return input?.uri?.fsPath.endsWith('.safetensors') ? input.uri : undefined;
}
