/** The ZipLoRA output channel: timestamped lines in the `ziplora-log` language (coloured by syntaxes/). */
import * as vscode from 'vscode';

export const OUTPUT_CHANNEL_NAME = 'ZipLoRA';

export class Log implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, 'ziplora-log');

  line(text: string): void {
    const time = new Date().toTimeString().slice(0, 8);
    for (const part of text.split('\n')) this.channel.appendLine(`[${time}] ${part}`);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
