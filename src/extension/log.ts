/** The ZipLoRA output channel: timestamped lines in the `ziplora-log` language (coloured by syntaxes/). */
import * as vscode from 'vscode';
import { RecentItems } from './recent-items';

export const OUTPUT_CHANNEL_NAME = 'ZipLoRA';

export class Log implements vscode.Disposable {
  readonly channel = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, 'ziplora-log');
  /** The last lines appended to the channel: the extension API cannot read an output channel back, tests can read these. */
  private readonly recent = new RecentItems<string>(1000);

  line(text: string): void {
    const time = new Date().toTimeString().slice(0, 8);
    for (const part of text.split('\n')) {
      const line = `[${time}] ${part}`;
      this.channel.appendLine(line);
      this.recent.push(line);
    }
  }

  /** The last (up to 1000) lines appended to the output channel. */
  recentLines(): readonly string[] {
    return this.recent.toArray();
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
