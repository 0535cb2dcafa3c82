import { Clock } from './clock';
import { IndexedHeap } from './indexed-heap';

/** What a deadline is kept on: the item itself carries its time and heap place (no object per deadline). */
export interface Deadlined {
  /** When it expires (meaningful while set). */
  deadlineAtMs: number;
  /** Its place in the heap (-1: no deadline set). */
  deadlineIndex: number;
}

/**
 * Backstop deadlines for running tasks: `expired(item)` fires only if the worker's answer never comes. Kept in one
 * heap behind a single clock timer armed for the earliest, so setting and clearing one costs O(log n) and no timer.
 * A cleared earliest deadline leaves the timer armed; it re-arms for the next when it fires.
 */
export class Deadlines<T extends Deadlined> {
  private readonly heap = new IndexedHeap<T>((a, b) => a.deadlineAtMs < b.deadlineAtMs, { get: (d) => d.deadlineIndex, set: (d, i) => void (d.deadlineIndex = i) });
  private armedAtMs = Infinity;
  private disarm?: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly expired: (item: T) => void,
  ) {}

  /** Sets (or moves) `item`'s deadline to `ms` from now. */
  set(item: T, ms: number): void {
    item.deadlineAtMs = this.clock.now() + ms;
    this.heap.update(item);
    if (item.deadlineAtMs < this.armedAtMs) this.arm(item.deadlineAtMs);
  }

  /** Forgets `item`'s deadline (nothing when none is set: it fired or was cleared). */
  clear(item: T): void {
    if (item.deadlineIndex >= 0) this.heap.remove(item);
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
    for (let d = this.heap.peek(); d && d.deadlineAtMs <= now; d = this.heap.peek()) {
      this.heap.pop();
      due.push(d);
    }
    const next = this.heap.peek();
    if (next) this.arm(next.deadlineAtMs);
    for (const item of due) this.expired(item);
  }
}
