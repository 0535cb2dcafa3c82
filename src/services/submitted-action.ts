import type { REv2 } from '../proto';
import type { ExecutionRequest } from '../scheduler/execution';

/** What Execute knows of an action it hands to the scheduler, beyond what the scheduler keeps (for the dashboard). */
export interface SubmittedAction {
  request: ExecutionRequest;
  /** The client's RequestMetadata (tool, target, invocation), when it sent one. */
  metadata?: REv2.RequestMetadata;
  /** Distinct input files and their bytes, from the input check. */
  inputFiles: number;
  inputBytes: number;
}

/** Told synchronously, right before the scheduler gets the request; keep it cheap. */
export type SubmitObserver = (action: SubmittedAction) => void;

/** A GetActionResult or Execute answered from the action cache. */
export type CacheHitObserver = (hit: { invocationId: string; instanceName: string; actionDigest: string; metadata?: REv2.RequestMetadata }) => void;
