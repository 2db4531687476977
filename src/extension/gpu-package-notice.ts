/**
 * The one-time notice that a merge ran on the CPU only because this installation has no WebGPU build for the
 * machine (src/core/platform-packages.ts decides). Shown once per installation: the answer is kept in globalState.
 */
import * as vscode from 'vscode';
import { BackendOutcome, gpuPackageAdvice, PLATFORMS_DOC_URL } from '../core/platform-packages';
import { Log } from './log';

const SHOWN_KEY = 'ziplora.gpuPackageNoticeShown';

export class GpuPackageNotice {
  constructor(private readonly state: vscode.Memento, private readonly log: Log) {}

  /** When a merge has chosen its backend: shows the notice if it applies and was never shown here. */
  async onBackendChosen(outcome: BackendOutcome): Promise<void> {
    const advice = gpuPackageAdvice(outcome, process.platform, process.arch);
    if (!advice || this.state.get<boolean>(SHOWN_KEY)) return;
    await this.state.update(SHOWN_KEY, true);
    this.log.line(advice.message);
    const choice = await vscode.window.showInformationMessage(advice.message, 'Open Docs', 'Search Extensions');
    if (choice === 'Open Docs') await vscode.env.openExternal(vscode.Uri.parse(PLATFORMS_DOC_URL));
    if (choice === 'Search Extensions') await vscode.commands.executeCommand('workbench.extensions.search', '@id:ziplora.ziplora-vscode');
  }
}
