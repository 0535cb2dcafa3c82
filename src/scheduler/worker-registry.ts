import { WorkerPb } from '../proto';
import { BuildQueues } from './build-queues';
import { formatPlatform, PlatformProperty, platformKey, unsatisfied, workerPlatform, WorkerPlatform } from './platform';
import { WorkerInfo } from './scheduler-observer';
import { RunningTasks } from './running-tasks';
import { WorkerClass } from './worker-class';

export interface WorkerChannel {
  send(message: WorkerPb.ISchedulerMessage): void;
}

/**
 * A connected worker. A class, not an object literal: a literal with a getter is kept in dictionary mode by V8 (measured:
 * %HasFastProperties false), so every read of a worker's fields on the dispatch path was a hash-table lookup.
 */
export class RegisteredWorker {
  /** Slots (cores) it offers; running tasks hold `usedSlots` of them. */
  readonly slots: number;
  usedSlots = 0;
  readonly running = new RunningTasks();
  lastSeenMs: number;
  /** Its place among its class's workers by free slots. */
  bucket = -1;
  bucketIndex = -1;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly platform: WorkerPlatform,
    readonly platformText: string,
    slots: number,
    readonly registeredAtMs: number,
    readonly channel: WorkerChannel,
    readonly cls: WorkerClass,
  ) {
    this.slots = slots;
    this.lastSeenMs = registeredAtMs;
  }

  get freeSlots(): number {
    return this.slots - this.usedSlots;
  }
}

/** Connected workers, grouped into classes by their properties, with their free slots kept in order. */
export class WorkerRegistry {
  private readonly workers = new Map<string, RegisteredWorker>();
  private readonly classes = new Map<string, WorkerClass>();
  private count = 0;

  constructor(private readonly queues: BuildQueues) {}

  get size(): number {
    return this.workers.size;
  }

  all(): IterableIterator<RegisteredWorker> {
    return this.workers.values();
  }

  get(id: string): RegisteredWorker | undefined {
    return this.workers.get(id);
  }

  register(reg: WorkerPb.IRegister, channel: WorkerChannel, nowMs: number): RegisteredWorker {
    const id = `w${++this.count}-${reg.workerName ?? ''}`;
    const props: PlatformProperty[] = (reg.properties ?? []).map((p) => ({ name: p.name ?? '', value: p.value ?? '' }));
    const key = platformKey(props);
    let cls = this.classes.get(key);
    if (!cls) {
      cls = new WorkerClass(key, workerPlatform(props), this.classes.size);
      this.classes.set(key, cls);
      this.queues.addClass(cls);
    }
    const w = new RegisteredWorker(id, reg.workerName || id, cls.platform, formatPlatform(props), Math.max(1, reg.slots ?? 1), nowMs, channel, cls);
    this.workers.set(id, w);
    cls.workers.add(w);
    return w;
  }

  remove(w: RegisteredWorker): void {
    if (!this.workers.delete(w.id)) return;
    w.cls.workers.remove(w);
  }

  /** A task takes (+) or gives back (−) slots on its worker. */
  occupy(w: RegisteredWorker, slots: number): void {
    w.usedSlots += slots;
    if (this.workers.has(w.id)) w.cls.workers.update(w);
  }

  /** Workers not heard from since `cutoffMs`. */
  silentSince(cutoffMs: number): RegisteredWorker[] {
    return [...this.workers.values()].filter((w) => w.lastSeenMs < cutoffMs);
  }

  /** The first property no connected worker offers (undefined: some worker could run it, or none is connected yet). */
  unsatisfiable(required: PlatformProperty[]): PlatformProperty | undefined {
    if (this.workers.size === 0) return undefined;
    let missing: PlatformProperty | undefined;
    for (const c of this.classes.values()) {
      if (c.workers.size === 0) continue;
      const m = unsatisfied(c.platform, required);
      if (!m) return undefined;
      missing ??= m;
    }
    return missing;
  }

  names(): string[] {
    return [...this.workers.values()].map((w) => w.name);
  }
}

export function workerInfo(w: RegisteredWorker): WorkerInfo {
  return { id: w.id, name: w.name, platform: w.platformText, slots: w.slots, busySlots: w.usedSlots, runningTasks: w.running.size, registeredAtMs: w.registeredAtMs, lastSeenMs: w.lastSeenMs };
}
