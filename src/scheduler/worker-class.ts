import { FreeSlotBuckets } from './free-slot-buckets';
import { IndexedHeap } from './indexed-heap';
import { classPositions, invocationFirst, PlatformQueue } from './platform-queue';
import { unsatisfied, WorkerPlatform } from './platform';
import type { RegisteredWorker } from './worker-registry';

/**
 * Workers with the same advertised properties. It keeps its workers by free slots (most first, which spreads load; in
 * O(1) buckets) and the non-empty platform queues it can serve by their best entry, so a free worker finds its next
 * task in O(log n) however many platforms match it.
 */
export class WorkerClass {
  readonly workers = new FreeSlotBuckets<RegisteredWorker>();
  readonly queues: IndexedHeap<PlatformQueue>;

  constructor(
    readonly key: string,
    readonly platform: WorkerPlatform,
    /** Its number among the classes (0, 1, …): where platform queues note their place in its heap. */
    readonly index: number,
  ) {
    this.queues = new IndexedHeap<PlatformQueue>((p, q) => invocationFirst(p.best!, q.best!), classPositions(index));
  }

  serves(q: PlatformQueue): boolean {
    return !unsatisfied(this.platform, q.required);
  }

  /** The worker with the most free slots, if it has any. */
  get freeWorker(): RegisteredWorker | undefined {
    const w = this.workers.peek();
    return w && w.freeSlots > 0 ? w : undefined;
  }
}
