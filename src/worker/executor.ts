import { WorkerPb } from '../proto';

/** Runs one assignment to completion; never throws: every failure becomes a non-OK status in the result. */
export interface Executor {
  execute(assignment: WorkerPb.Assignment, signal: AbortSignal): Promise<WorkerPb.ExecutionFinished>;
}
