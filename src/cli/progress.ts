/** A one-line progress bar on stderr, drawn only when stderr is a terminal (never in pipes or logs). */
export class ProgressBar {
  private lastDraw = 0;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  private get enabled(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(done: number, total: number, detail = ''): void {
    this.show(total > 0 ? Math.min(1, done / total) : 1, detail);
  }

  /** Draws `fraction` (0–1) done, at most every 100 ms unless it is complete. */
  show(fraction: number, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && fraction < 1) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const text = `${this.label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${detail}`;
    this.stream.write(`\r${text.slice(0, (this.stream.columns ?? 100) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}
