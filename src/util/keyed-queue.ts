const ignore = (): void => undefined;
const DONE: Promise<void> = Promise.resolve();

/**
 * Runs tasks one after another per key, and tasks of different keys side by side. The filesystem stores publish a file
 * under a key and unlink an evicted one under the same key: in order, an unlink that was queued behind a re-upload
 * finds the key indexed again and leaves the new file alone.
 */
export class KeyedQueue {
  /** Per key, the last task queued (settled quietly: a failure is its caller's, not the next task's). */
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    // Never inside the caller's call (an LRU's dispose callback calls this before it has removed the key).
    const result = (this.tails.get(key) ?? DONE).then(task);
    const tail = result.then(ignore, ignore);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
