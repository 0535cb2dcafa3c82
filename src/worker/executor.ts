import { WorkerPb } from '../proto';

/** What an executor reports before it finishes. */
export interface ExecutionEvents {
  /** A fused rustc run (Assignment.watch_rmeta) produced its .rmeta. */
  rmetaReady?(ready: WorkerPb.IRmetaReady): void;
}

/** Runs one assignment to completion; never throws: every failure becomes a non-OK status in the result. */
export interface Executor {
  execute(assignment: WorkerPb.Assignment, signal: AbortSignal, events?: ExecutionEvents): Promise<WorkerPb.ExecutionFinished>;
}
