/**
 * The merge's one cancellation token: an AbortSignal that a caller's cancel (the worker's cancel message, a test)
 * and a failure in any phase abort alike, and that every phase — reading, dispatching, the compute threads'
 * results, hashing, writing — checks or listens to.
 */

/** A token for one merge: aborted by `outer` (the caller's cancel) or by `stop(error)` from within. */
export class MergeStop {
  private readonly controller = new AbortController();

  constructor(outer?: AbortSignal) {
    if (outer?.aborted) this.stop(outer.reason);
    else outer?.addEventListener('abort', () => this.stop(outer.reason), { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops the merge with `reason`; the first reason given is the one the merge fails with. */
  stop(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason instanceof Error ? reason : new Error(String(reason)));
  }

  /** Calls `listener` with the reason once the merge is stopped (at once if it already is). */
  onStop(listener: (reason: Error) => void): void {
    const signal = this.controller.signal;
    if (signal.aborted) listener(signal.reason as Error);
    else signal.addEventListener('abort', () => listener(signal.reason as Error), { once: true });
  }
}

/** `promise`'s value, or a rejection with the signal's reason as soon as it is aborted. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
