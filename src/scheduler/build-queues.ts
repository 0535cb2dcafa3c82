import type { Operation } from './operation';
import { PlatformProperty, platformKey } from './platform';
import { Invocation, PlatformQueue, QueueEntry } from './platform-queue';
import { QueueDepth } from './scheduler-observer';
import type { Task } from './task';
import type { WorkerClass } from './worker-class';

/** Platform queues kept while empty, at most (beyond, an empty one is dropped and made again when needed). */
const MAX_IDLE_PLATFORMS = 64;

/**
 * Every queued task, by platform and by invocation inside it. Each operation of a queued task has an entry in its own
 * invocation's sub-queue, so a task waits at the best priority among its callers and each caller's build is charged
 * fairly. Taking work for a kind of worker, queueing, cancelling and re-ranking cost O(log n).
 */
export class BuildQueues {
  private readonly platforms = new Map<string, PlatformQueue>();
  private readonly invocations = new Map<string, Invocation>();
  private readonly classes: WorkerClass[] = [];
  private sequence = 0;
  /** Tasks waiting for a worker. */
  queuedTasks = 0;

  /** A new kind of worker: link it to the platform queues it can serve. Its index places queues in its heap. */
  addClass(c: WorkerClass): void {
    this.classes.push(c);
    for (const q of this.platforms.values()) {
      if (!c.serves(q)) continue;
      q.classes.push(c);
      if (q.size > 0) c.queues.update(q);
    }
  }

  /** The queue for a platform (created on first use and linked to the worker classes that serve it). */
  platform(required: PlatformProperty[], key = platformKey(required)): PlatformQueue {
    let q = this.platforms.get(key);
    if (!q) {
      q = new PlatformQueue(key, required);
      for (const c of this.classes) if (c.serves(q)) q.classes.push(c);
      this.platforms.set(key, q);
    }
    return q;
  }

  /** Queues a task: one entry per live operation (an internal task has one of its own). Returns its platform queue. */
  push(task: Task): PlatformQueue {
    const q = this.platform(task.request.platform, (task.platformKey ??= platformKey(task.request.platform)));
    if (task.internal || task.operations.length === 0) this.addEntry(q, task, undefined);
    else for (let i = 0; i < task.operations.length; i++) this.addEntry(q, task, task.operations[i]);
    this.queuedTasks++;
    this.touch(q);
    return q;
  }

  /** A caller joined a queued task. */
  join(task: Task, op: Operation): void {
    const q = task.entries[0]?.queue?.platform;
    if (!q) return;
    this.addEntry(q, task, op);
    this.touch(q);
  }

  /** A caller left a queued task; its other callers keep it queued. */
  leave(op: Operation): void {
    const e = op.entry;
    if (!e) return;
    const q = e.queue?.platform;
    op.entry = undefined;
    e.task.removeEntry(e);
    if (q) {
      this.deleteEntry(q, e);
      this.touch(q);
    }
  }

  /** Takes a task out of the queue (it starts, or is cancelled or failed). */
  remove(task: Task): void {
    if (!task.queued) return;
    const q = task.entries[0].queue?.platform;
    const entries = task.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.op) e.op.entry = undefined;
      if (q) this.deleteEntry(q, e);
    }
    task.clearEntries();
    this.queuedTasks--;
    if (q) this.touch(q);
  }

  /** A queued task's rank changed. */
  reorder(task: Task): void {
    const q = task.entries[0]?.queue?.platform;
    if (!q) return;
    for (let i = 0; i < task.entries.length; i++) q.reorder(task.entries[i]);
    this.touch(q);
  }

  /** The best entry a worker of this class can run, or undefined. The caller takes its task out with remove(). */
  best(c: WorkerClass): QueueEntry | undefined {
    return c.queues.peek()?.best?.head;
  }

  /** A build's runs took (+) or gave back (−) slots: its sub-queues move in their platforms' order. */
  charge(invocationId: string, slots: number): void {
    const inv = this.invocation(invocationId);
    inv.busySlots += slots;
    for (const q of inv.queues) {
      if (q.entries.size === 0) continue;
      q.platform.invocations.update(q);
      this.touch(q.platform);
    }
    this.forgetIfIdle(inv);
  }

  /**
   * Queued tasks per platform and action class (non-zero only), counted when asked (a metrics scrape, a dashboard
   * update) rather than kept up to date in a map at every queueing and start (four map operations per task).
   */
  depths(actionClass: (task: Task) => string): QueueDepth[] {
    const out: QueueDepth[] = [];
    for (const q of this.platforms.values()) {
      if (q.size === 0) continue;
      const counts = new Map<string, number>();
      for (const sub of q.byInvocation.values()) {
        for (const e of sub.entries.values()) {
          if (e !== e.task.entries[0]) continue; // a task with several callers has an entry per caller
          const c = actionClass(e.task);
          counts.set(c, (counts.get(c) ?? 0) + 1);
        }
      }
      for (const [c, count] of counts) out.push({ platformKey: q.key, actionClass: c, count });
    }
    return out;
  }

  private addEntry(q: PlatformQueue, task: Task, op: Operation | undefined): void {
    const req = op?.request ?? task.request;
    const e: QueueEntry = { task, op, priority: req.priority, sequence: this.sequence++, rank: task.rank, heapIndex: -1 };
    if (op) op.entry = e;
    task.addEntry(e);
    q.add(e, q.subQueue(this.invocation(req.invocationId)));
  }

  private deleteEntry(q: PlatformQueue, e: QueueEntry): void {
    const inv = e.queue?.invocation;
    q.delete(e);
    if (inv) this.forgetIfIdle(inv);
  }

  /**
   * Moves a platform queue in (or out of) the order of every worker class that serves it. An empty one stays known
   * (platforms are few, and one often empties and refills per decision) unless there are many.
   */
  private touch(q: PlatformQueue): void {
    if (q.size > 0) {
      for (const c of q.classes) c.queues.update(q);
      return;
    }
    for (const c of q.classes) c.queues.remove(q);
    if (this.platforms.size > MAX_IDLE_PLATFORMS && q.byInvocation.size === 0) this.platforms.delete(q.key);
  }

  private invocation(id: string): Invocation {
    let inv = this.invocations.get(id);
    if (!inv) {
      inv = { id, busySlots: 0, queued: 0, queues: [] };
      this.invocations.set(id, inv);
    }
    return inv;
  }

  /** An invocation with nothing running or queued is forgotten, with its (empty) sub-queues. */
  private forgetIfIdle(inv: Invocation): void {
    if (inv.busySlots !== 0 || inv.queued !== 0) return;
    this.invocations.delete(inv.id);
    for (const q of inv.queues) {
      q.platform.byInvocation.delete(inv.id);
      if (q.platform.byInvocation.size === 0 && q.platform.size === 0 && this.platforms.size > MAX_IDLE_PLATFORMS) this.platforms.delete(q.platform.key);
    }
  }

}
