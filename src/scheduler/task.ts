import { processIds } from './ids';
import { REv2 } from '../proto';
import type { ExecutionRequest, Stage } from './execution';
import type { Operation } from './operation';
import type { QueueEntry } from './platform-queue';
import type { ActionDescription } from './action-describer';
import type { TaskInfo } from './scheduler-observer';
import type { RegisteredWorker } from './worker-registry';

/** The empty list shared by every task without operations or queue entries. */
const NONE: readonly never[] = Object.freeze([]);

/**
 * One action (instance + action digest) in flight: queued, running or having its result recorded. Every caller gets
 * its own Operation on it; the task is queued at the best priority among them and cancelled when the last one goes.
 * An internal task serves other tasks (a policy's run) and has no operations of its own.
 */
export class Task {
  /** Its number in this process; `id` is the name the worker protocol uses. */
  readonly seq = processIds.next();
  private name?: string;
  /** Its callers' live operations (almost always one: an array, replaced rather than grown, costs least). */
  operations: readonly Operation[] = NONE;
  stage: Stage = 'QUEUED';
  response?: REv2.ExecuteResponse;
  /** How many times a worker was lost while running it. */
  lostWorkers = 0;
  /** Order among equal priority and fairness (from the policies; higher first). */
  rank = 0;
  /** Slots it would like (from the policies) and slots it holds while running. */
  wantedSlots = 1;
  slots = 0;
  worker?: RegisteredWorker;
  assignedAtMs?: number;
  /** The scheduler's backstop for its answer while it runs (see Deadlines). */
  deadlineAtMs = 0;
  deadlineIndex = -1;
  /** The invocation whose share of busy slots this run counts against. */
  chargedTo?: string;
  /** Entries in the invocation queues while it waits (one per operation; one of its own when internal). Replaced, never grown in place. */
  entries: readonly QueueEntry[] = NONE;
  /** When it (last) entered the queue. */
  enqueuedAtMs: number;
  /** The platform's canonical key (computed on first use). */
  platformKey?: string;
  /** What observers were last shown; dropped whenever a field of it changes (callers, charge, completion). */
  info?: TaskInfo;
  cancelled = false;

  constructor(
    /** The first caller's request: the action, command, platform and timeout every operation shares (slimmed on completion). */
    public request: ExecutionRequest,
    readonly internal: boolean,
    readonly queuedAtMs: number,
    /** Its class and labels for observers and accounting (see Scheduler.newTask). */
    readonly description: ActionDescription,
  ) {
    this.enqueuedAtMs = queuedAtMs;
  }

  addOperation(op: Operation): void {
    this.operations = this.operations.length === 0 ? [op] : [...this.operations, op];
  }

  /** False when `op` was not among its operations. */
  removeOperation(op: Operation): boolean {
    if (!this.operations.includes(op)) return false;
    this.operations = this.operations.length === 1 ? NONE : this.operations.filter((o) => o !== op);
    return true;
  }

  addEntry(e: QueueEntry): void {
    this.entries = this.entries.length === 0 ? [e] : [...this.entries, e];
  }

  removeEntry(e: QueueEntry): void {
    this.entries = this.entries.length === 1 && this.entries[0] === e ? NONE : this.entries.filter((x) => x !== e);
  }

  clearEntries(): void {
    this.entries = NONE;
  }

  get id(): string {
    return (this.name ??= processIds.name(this.seq));
  }

  get done(): boolean {
    return this.stage === 'COMPLETED';
  }

  get queued(): boolean {
    return this.entries.length > 0;
  }

  /** The best (lowest) priority of its live operations (its own request's when internal or orphaned). */
  get priority(): number {
    let p = Infinity;
    for (let i = 0; i < this.operations.length; i++) p = Math.min(p, this.operations[i].request.priority);
    return p === Infinity ? this.request.priority : p;
  }

  /** The build its run counts against: the charged one once it started, else its first caller's. */
  get chargedInvocation(): string {
    if (this.chargedTo !== undefined) return this.chargedTo;
    return this.operations.length > 0 ? this.operations[0].request.invocationId : this.request.invocationId;
  }

  get invocationIds(): string[] {
    const first = this.chargedTo ?? this.request.invocationId;
    if (this.operations.length <= 1) {
      const op = this.operations[0] as Operation | undefined;
      if (!op || op.request.invocationId === first) return [first];
    }
    const ids = new Set<string>(this.chargedTo !== undefined ? [this.chargedTo] : []);
    for (const op of this.operations) ids.add(op.request.invocationId);
    if (ids.size === 0) ids.add(this.request.invocationId);
    return [...ids];
  }
}
