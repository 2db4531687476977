/**
 * The flow of merged layers from the compute threads to the writer, with bounded memory: a batch is read only
 * while fewer than `limit` layers are read but not yet written; the writer takes layers in file order. The
 * batch holding the layer the writer waits for is always let through (batches go out in order of their first
 * layer, so it is the next one), so the bound never deadlocks.
 */
import { LayerOutput } from './layer-job';

interface Slot {
  promise: Promise<LayerOutput>;
  resolve(output: LayerOutput): void;
  reject(error: Error): void;
}

export class LayerFlow {
  /** Dropped once written, so that a written layer's bytes can be freed. */
  private readonly slots: (Slot | undefined)[];
  /** Layers read and not yet written. */
  private held = 0;
  private wanted = 0;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(
    layers: number,
    private readonly limit: number,
  ) {
    this.slots = Array.from({ length: layers }, () => {
      const slot = {} as Slot;
      slot.promise = new Promise<LayerOutput>((resolve, reject) => Object.assign(slot, { resolve, reject }));
      // A failure nobody awaits any more (the writer already stopped) is not an unhandled rejection.
      slot.promise.catch(() => undefined);
      return slot;
    });
  }

  /** Waits until `batch` may be read: room in the window, or the writer waiting for one of its layers. */
  async admit(batch: readonly number[]): Promise<void> {
    while (!this.failure && this.held > 0 && this.held + batch.length > this.limit && !batch.includes(this.wanted)) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    if (this.failure) throw this.failure;
    this.held += batch.length;
  }

  deliver(index: number, output: LayerOutput): void {
    this.slots[index]?.resolve(output);
  }

  /** The writer's side: layer `index`, once solved. */
  take(index: number): Promise<LayerOutput> {
    const slot = this.slots[index];
    if (!slot) return Promise.reject(new Error(`internal error: layer ${index} was taken after it was written`));
    this.wanted = index;
    this.poke();
    return slot.promise;
  }

  /** The writer holds what it needs of layer `index`: the flow lets go of it. */
  written(index: number): void {
    this.slots[index] = undefined;
    this.held--;
    this.poke();
  }

  /** Ends the flow: every waiting reader and writer gets `error`. */
  fail(error: Error): void {
    this.failure ??= error;
    for (const slot of this.slots) slot?.reject(this.failure);
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
