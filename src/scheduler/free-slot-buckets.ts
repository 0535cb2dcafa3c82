/** What the buckets need of a worker: its free slots, and two fields they keep on it. */
export interface Bucketed {
  readonly freeSlots: number;
  /** The bucket it sits in (-1: none) and its index there. */
  bucket: number;
  bucketIndex: number;
}

/**
 * Above this many free slots, workers share the top bucket: no task asks for more, and a worker's advertised slots
 * (up to 2^32 from a buggy or hostile client) must not size an array.
 */
export const MAX_BUCKET = 256;

/**
 * Workers by free slots, most first: one bucket per count (slots are small integers), so a task starting or ending
 * moves its worker in O(1) rather than through a heap of all workers (twice per decision).
 */
export class FreeSlotBuckets<W extends Bucketed> {
  private readonly buckets: W[][] = [];
  /** No bucket above this one holds a worker. */
  private top = 0;
  size = 0;

  add(w: W): void {
    this.put(w);
    this.size++;
  }

  remove(w: W): void {
    if (w.bucket < 0) return;
    this.take(w);
    this.size--;
  }

  /** After its free slots changed. */
  update(w: W): void {
    if (w.bucket < 0 || w.bucket === bucketOf(w)) return;
    this.take(w);
    this.put(w);
  }

  /** A worker with the most free slots (undefined when there are no workers). */
  peek(): W | undefined {
    while (this.top > 0 && this.buckets[this.top].length === 0) this.top--;
    const b = this.buckets[this.top];
    return b && b.length > 0 ? b[b.length - 1] : undefined;
  }

  private put(w: W): void {
    const k = bucketOf(w);
    while (this.buckets.length <= k) this.buckets.push([]);
    const b = this.buckets[k];
    w.bucket = k;
    w.bucketIndex = b.length;
    b.push(w);
    if (k > this.top) this.top = k;
  }

  private take(w: W): void {
    const b = this.buckets[w.bucket];
    const last = b.pop()!;
    if (last !== w) {
      b[w.bucketIndex] = last;
      last.bucketIndex = w.bucketIndex;
    }
    w.bucket = -1;
    w.bucketIndex = -1;
  }
}

function bucketOf(w: Bucketed): number {
  return Math.min(MAX_BUCKET, Math.max(0, w.freeSlots));
}
