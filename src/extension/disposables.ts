/**
 * Disposables owned by something that lives longer than each of them (the extension, an open editor). VS Code's
 * API has no such set: `context.subscriptions` only grows, and would keep every closed panel until deactivation.
 */
import type * as vscode from 'vscode';

export class DisposableSet implements vscode.Disposable {
  private readonly items = new Set<vscode.Disposable>();

  /** Owns `item` until it is disposed, here or on its own (then call `forget`). */
  add<T extends vscode.Disposable>(item: T): T {
    this.items.add(item);
    return item;
  }

  /** Stops owning `item` without disposing it (it was disposed elsewhere, e.g. a panel the user closed). */
  forget(item: vscode.Disposable): void {
    this.items.delete(item);
  }

  /** How many owned disposables have not been disposed yet. */
  get size(): number {
    return this.items.size;
  }

  /** Disposes everything owned, newest first (a listener goes before what it listens to). */
  dispose(): void {
    const items = [...this.items].reverse();
    this.items.clear();
    for (const item of items) item.dispose();
  }
}
