/**
 * The last N items of a stream, oldest first, in fixed memory (a ring buffer): for what tests read back from a
 * long-lived object, such as an editor left open for days or the output channel, without it growing.
 */
export class RecentItems<T> {
  private readonly ring: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer (got ${capacity})`);
  }

  push(item: T): void {
    if (this.ring.length < this.capacity) this.ring.push(item);
    else this.ring[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The items kept, oldest first. */
  toArray(): T[] {
    return this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
