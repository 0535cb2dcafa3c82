import { IndexedHeap } from './indexed-heap';
import type { Operation } from './operation';
import { PlatformProperty } from './platform';
import type { Task } from './task';
import type { WorkerClass } from './worker-class';

/** A build's load: the slots its runs hold right now, across all platforms (the fairness measure). */
export interface Invocation {
  readonly id: string;
  busySlots: number;
  /** Its entries waiting, across platforms. */
  queued: number;
  /** Its sub-queues, one per platform it queued work on (kept while empty until the invocation goes idle). */
  readonly queues: InvocationQueue[];
}

/** One operation (or an internal task) waiting in its invocation's queue. */
export interface QueueEntry {
  readonly task: Task;
  readonly op?: Operation;
  readonly priority: number;
  /** Arrival order. */
  readonly sequence: number;
  /** Its task's rank, copied here so comparisons touch one object (refreshed by reorder). */
  rank: number;
  queue?: InvocationQueue;
  heapIndex: number;
}

/** Within one invocation: priority (lower first), then rank (higher first), then arrival. */
function entryFirst(a: QueueEntry, b: QueueEntry): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  if (a.rank !== b.rank) return a.rank > b.rank;
  return a.sequence < b.sequence;
}

/**
 * Between invocations (and between platform queues, by their best invocation): the head's priority, then fairness
 * (the build holding fewer busy slots first), then the head's rank, then its arrival.
 */
export function invocationFirst(x: InvocationQueue, y: InvocationQueue): boolean {
  const a = x.head!;
  const b = y.head!;
  if (a.priority !== b.priority) return a.priority < b.priority;
  if (x.invocation.busySlots !== y.invocation.busySlots) return x.invocation.busySlots < y.invocation.busySlots;
  if (a.rank !== b.rank) return a.rank > b.rank;
  return a.sequence < b.sequence;
}

const entryPositions = { get: (e: QueueEntry) => e.heapIndex, set: (e: QueueEntry, i: number) => void (e.heapIndex = i) };
const queuePositions = { get: (q: InvocationQueue) => q.heapIndex, set: (q: InvocationQueue, i: number) => void (q.heapIndex = i) };

/** A platform queue's place in the heap of each worker class that serves it (by the class's index: no Map lookups). */
export function classPositions(classIndex: number) {
  return { get: (q: PlatformQueue) => q.classHeapIndex[classIndex] ?? -1, set: (q: PlatformQueue, i: number) => void (q.classHeapIndex[classIndex] = i) };
}

/** One invocation's waiting work on one platform. */
export class InvocationQueue {
  readonly entries = new IndexedHeap<QueueEntry>(entryFirst, entryPositions);
  heapIndex = -1;

  constructor(
    readonly invocation: Invocation,
    readonly platform: PlatformQueue,
  ) {}

  get head(): QueueEntry | undefined {
    return this.entries.peek();
  }
}

/**
 * The work waiting for one platform (canonical property set): one sub-queue per invocation, and a heap of the
 * non-empty sub-queues so the next entry is found in O(log n).
 */
export class PlatformQueue {
  readonly byInvocation = new Map<string, InvocationQueue>();
  readonly invocations = new IndexedHeap<InvocationQueue>(invocationFirst, queuePositions);
  /** Queued entries (operations) across its invocations. */
  size = 0;
  /** The kinds of worker whose properties satisfy this platform. */
  readonly classes: WorkerClass[] = [];
  /** Its position in each serving worker class's heap, by class index. */
  readonly classHeapIndex: number[] = [];

  constructor(
    readonly key: string,
    readonly required: PlatformProperty[],
  ) {}

  get best(): InvocationQueue | undefined {
    return this.invocations.peek();
  }

  subQueue(invocation: Invocation): InvocationQueue {
    let q = this.byInvocation.get(invocation.id);
    if (!q) {
      q = new InvocationQueue(invocation, this);
      this.byInvocation.set(invocation.id, q);
      invocation.queues.push(q);
    }
    return q;
  }

  add(entry: QueueEntry, q: InvocationQueue): void {
    entry.queue = q;
    q.entries.push(entry);
    this.invocations.update(q);
    this.size++;
    q.invocation.queued++;
  }

  /**
   * Takes `entry` out. A sub-queue left empty leaves the order but stays until its invocation goes idle: a build's
   * work usually starts as soon as it is queued, and re-creating the sub-queue each time would cost more than the rest.
   */
  delete(entry: QueueEntry): void {
    const q = entry.queue;
    if (!q || !q.entries.remove(entry)) return;
    entry.queue = undefined;
    this.size--;
    q.invocation.queued--;
    if (q.entries.size === 0) this.invocations.remove(q);
    else this.invocations.update(q);
  }

  /** An entry's key (its task's rank) changed. */
  reorder(entry: QueueEntry): void {
    const q = entry.queue;
    if (!q) return;
    entry.rank = entry.task.rank;
    q.entries.update(entry);
    this.invocations.update(q);
  }
}
