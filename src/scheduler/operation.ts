import { processIds } from './ids';
import { REv2 } from '../proto';
import { ExecutionRequest, retainedRequest, slimRequest, Stage } from './execution';
import type { QueueEntry } from './platform-queue';
import type { OperationInfo } from './scheduler-observer';
import type { Task } from './task';

/** What an operation needs from whoever owns it: to hear when nobody follows it any more. */
export interface OperationOwner {
  unwatched(op: Operation): void;
}

/**
 * One caller's handle on a task: what Execute returns and WaitExecution finds by name. It has its own priority,
 * invocation and cancellation; its stage and result are the task's.
 */
export class Operation {
  /** Its number in this process (what the scheduler finds it by); `id` is the name's last part. */
  readonly seq = processIds.next();
  private name?: string;
  stage: Stage;
  response?: REv2.ExecuteResponse;
  /** Its place in its invocation's queue while the task waits for a worker. */
  entry?: QueueEntry;
  /** What observers are shown of it (fixed for its life, built on first use). */
  info?: OperationInfo;
  private listeners?: Set<(op: Operation) => void>;
  private watchers = 0;

  constructor(
    /** The caller's own request: its priority and invocation (the action is the task's). Slimmed on completion. */
    public request: ExecutionRequest,
    readonly task: Task,
    readonly createdAtMs: number,
    private readonly owner?: OperationOwner,
  ) {
    this.stage = task.stage === 'COMPLETED' ? 'QUEUED' : task.stage;
  }

  get id(): string {
    return (this.name ??= processIds.name(this.seq));
  }

  get operationName(): string {
    return `operations/${this.id}`;
  }

  /** The run's id on the worker protocol (shared by every operation of the task). */
  get taskId(): string {
    return this.task.id;
  }

  get done(): boolean {
    return this.stage === 'COMPLETED';
  }

  setStage(stage: Stage): void {
    if (this.stage === stage || this.done) return;
    this.stage = stage;
    this.notify();
  }

  complete(response: REv2.ExecuteResponse): void {
    if (this.done) return;
    this.response = response;
    this.stage = 'COMPLETED';
    // Completed operations stay visible for minutes; the Action, Command and input tree are not needed any more.
    // The first caller's request is the task's too: while the task goes on for other callers, it keeps the original.
    if (this.request === this.task.request && !this.task.done) this.request = retainedRequest(this.request);
    else slimRequest(this.request);
    this.notify();
    this.listeners = undefined;
  }

  /** Calls `fn` on every change until completion; returns an unsubscribe function. */
  subscribe(fn: (op: Operation) => void): () => void {
    if (this.done) return () => undefined;
    (this.listeners ??= new Set()).add(fn);
    return () => void this.listeners?.delete(fn);
  }

  /**
   * A client stream (Execute or WaitExecution) follows this operation until the returned release is called. When the
   * last one lets go before completion, the owner may cancel it after a grace period (a client can re-attach).
   */
  watch(): () => void {
    this.watchers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.watchers === 0 && !this.done) this.owner?.unwatched(this);
    };
  }

  get watched(): boolean {
    return this.watchers > 0;
  }

  private notify(): void {
    if (this.listeners) for (const fn of [...this.listeners]) fn(this);
  }
}
