import { REv2, WorkerPb } from '../proto';
import type { ExecutionRequest, Stage } from './execution';
import type { Operation } from './operation';
import type { Task } from './task';

/** How a task's run ended, beyond its response (what the `completed` hook hears). */
export interface TaskRun {
  workerName?: string;
  slots?: number;
  cpuSeconds?: number;
  /** Answered by another task's run. */
  servedBy?: Task;
  cancelled?: boolean;
}

/** A result a worker reports while the command still runs (e.g. one output ready early). */
export interface PartialResult {
  result?: REv2.IActionResult | null;
  cpuSeconds?: number | null;
}

/** What a policy may ask of the scheduler. */
export interface SchedulerHost {
  now(): number;
  /** Calls `fn` after `ms` on the scheduler's clock. */
  schedule(fn: () => void, ms: number): () => void;
  /** Queues an internal task: a run that serves other tasks, has no operations and is never written to the AC. */
  submitInternal(request: ExecutionRequest): Task;
  /** Completes a task the policy adopted with an answer from run `servedBy` (through the result sink). */
  completeWith(task: Task, finished: WorkerPb.IExecutionFinished, servedBy: Task): Promise<void>;
  /** Shows an adopted task's operations the stage of the run serving them. */
  setStage(task: Task, stage: Stage): void;
  /** A queued task's rank inputs changed: order it again. */
  rerank(task: Task): void;
  /** Cancels a task nobody needs any more (e.g. an internal run whose partners went away). */
  cancel(task: Task, reason: string): void;
}

/**
 * A narrow hook into the generic scheduler (fusion, critical-path ranking, metadata-first, slot sizing…), composed in
 * src/cmd. Every method is optional; the scheduler calls them in the order the policies were given.
 */
export interface SchedulerPolicy {
  /** Called once, before any other method. */
  attach?(host: SchedulerHost): void;
  /** A new task from a client (before it is queued): learn from it. */
  created?(task: Task): void;
  /** Serve the task without queueing it (true: the policy owns its completion). The first policy to say true wins. */
  adopt?(task: Task): boolean;
  /** Added up over policies: among equal priority and fairness, a higher rank runs first. */
  rank?(task: Task): number;
  /** Slots the task would use well (the largest answer wins; a worker gives at most what it has free). */
  slots?(task: Task): number;
  /** The task's stage changed (QUEUED again after a worker loss, or EXECUTING). */
  stageChanged?(task: Task): void;
  /** A worker reported a partial result for a running task. */
  partial?(task: Task, partial: PartialResult): void;
  /**
   * The task ended, before its result is recorded: a worker's answer, or one the scheduler made up with the reason
   * (deadline, worker losses, no worker for its platform). Not called for a cancelled task. A returned promise (e.g.
   * answering the tasks a run served) is awaited before the scheduler's `finished` resolves.
   */
  finished?(task: Task, finished: WorkerPb.IExecutionFinished): void | Promise<void>;
  /** No operation wants the task any more; it was cancelled. */
  cancelled?(task: Task): void;
  /**
   * Lifecycle hooks for bookkeeping (e.g. per-build accounting), called where the matching observer events are emitted
   * but without building any event data: a caller's operation was created / completed, a task ended with `response`.
   */
  operationCreated?(op: Operation): void;
  operationCompleted?(op: Operation): void;
  completed?(task: Task, response: REv2.ExecuteResponse, actionClass: string, run: TaskRun | undefined): void;
}
