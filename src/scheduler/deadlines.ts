import { Clock } from './clock';
import { IndexedHeap } from './indexed-heap';

/** A set deadline: keep it to clear it. */
export interface Deadline<T> {
  readonly item: T;
  readonly atMs: number;
  heapIndex: number;
}

/**
 * Backstop deadlines for running tasks: `expired(item)` fires only if the worker's answer never comes. Kept in one
 * heap behind a single clock timer armed for the earliest, so setting and clearing one costs O(log n) and no timer.
 * A cleared earliest deadline leaves the timer armed; it re-arms for the next when it fires.
 */
export class Deadlines<T> {
  private readonly heap = new IndexedHeap<Deadline<T>>((a, b) => a.atMs < b.atMs, { get: (d) => d.heapIndex, set: (d, i) => void (d.heapIndex = i) });
  private armedAtMs = Infinity;
  private disarm?: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly expired: (item: T) => void,
  ) {}

  set(item: T, ms: number): Deadline<T> {
    const d: Deadline<T> = { item, atMs: this.clock.now() + ms, heapIndex: -1 };
    this.heap.push(d);
    if (d.atMs < this.armedAtMs) this.arm(d.atMs);
    return d;
  }

  /** Forgets a deadline that has not fired (nothing when it already fired or was cleared). */
  clear(d: Deadline<T>): void {
    if (d.heapIndex >= 0) this.heap.remove(d);
  }

  close(): void {
    this.disarm?.();
    this.disarm = undefined;
    this.armedAtMs = Infinity;
    while (this.heap.pop());
  }

  private arm(atMs: number): void {
    this.disarm?.();
    this.armedAtMs = atMs;
    this.disarm = this.clock.schedule(() => this.fire(), Math.max(0, atMs - this.clock.now()));
  }

  private fire(): void {
    this.armedAtMs = Infinity;
    this.disarm = undefined;
    const now = this.clock.now();
    const due: T[] = [];
    for (let d = this.heap.peek(); d && d.atMs <= now; d = this.heap.peek()) {
      this.heap.pop();
      due.push(d.item);
    }
    const next = this.heap.peek();
    if (next) this.arm(next.atMs);
    for (const item of due) this.expired(item);
  }
}
