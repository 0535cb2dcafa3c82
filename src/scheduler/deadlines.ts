import { Clock } from './clock';
import { IndexedHeap } from './indexed-heap';

interface Deadline<T> {
  readonly key: string;
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
  private readonly byKey = new Map<string, Deadline<T>>();
  private armedAtMs = Infinity;
  private disarm?: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly expired: (item: T) => void,
  ) {}

  set(key: string, item: T, ms: number): void {
    this.clear(key);
    const d: Deadline<T> = { key, item, atMs: this.clock.now() + ms, heapIndex: -1 };
    this.byKey.set(key, d);
    this.heap.push(d);
    if (d.atMs < this.armedAtMs) this.arm(d.atMs);
  }

  clear(key: string): void {
    const d = this.byKey.get(key);
    if (!d) return;
    this.byKey.delete(key);
    this.heap.remove(d);
  }

  close(): void {
    this.disarm?.();
    this.disarm = undefined;
    this.armedAtMs = Infinity;
    this.byKey.clear();
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
      this.byKey.delete(d.key);
      due.push(d.item);
    }
    const next = this.heap.peek();
    if (next) this.arm(next.atMs);
    for (const item of due) this.expired(item);
  }
}
