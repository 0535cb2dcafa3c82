import type { CrateDep, RustActionKind } from '../rust/rust-action-kind';

/**
 * What the dashboard keeps of one action run, in epoch milliseconds. Plain data (no protobuf, no Execution) so that a
 * recorded build can be saved as JSON, replayed in tests and sent to the page as it is.
 */
export interface ActionRecord {
  /** The scheduler's execution id (unique per run). */
  id: string;
  /** `hash/size` of the Action. */
  actionDigest: string;
  mnemonic?: string;
  /** RequestMetadata.target_id, when the client sent it. */
  targetId?: string;
  kind: RustActionKind;
  /** The crate's name as rustc knows it (`--crate-name`). */
  crateName?: string;
  /** The crate's identity in the learned graph: its output path without extension (see src/rust/crate-deps.ts). */
  crate?: string;
  /** What it compiles against (`--extern`). */
  deps?: CrateDep[];
  /**
   * `carrier`: one rustc run serving a crate's metadata and rlib actions (it is what occupies a worker slot);
   * `served`: a client action answered by a carrier (`carrierId`), so it never ran on its own.
   */
  fusion?: 'carrier' | 'served';
  carrierId?: string;
  argv: string[];
  outputs: string[];
  platform: { name: string; value: string }[];
  /** Distinct input file bytes and count, from the input check. */
  inputBytes?: number;
  inputFiles?: number;
  worker?: string;
  timings: ActionTimings;
  cpuSeconds?: number;
  exitCode?: number;
  /** gRPC status code name when the run did not produce a result (e.g. DEADLINE_EXCEEDED). */
  status?: string;
}

export interface ActionTimings {
  /** Submitted to the scheduler. */
  queuedMs: number;
  workerStartMs?: number;
  inputFetchStartMs?: number;
  inputFetchEndMs?: number;
  executionStartMs?: number;
  /** A fused run's .rmeta appeared (the metadata action was answered then). */
  rmetaMs?: number;
  executionEndMs?: number;
  uploadStartMs?: number;
  uploadEndMs?: number;
  /** The client's operation completed. */
  completedMs?: number;
}

/** One build: everything one `tool_invocation_id` did on this server. */
export interface BuildRecord {
  invocationId: string;
  /** `bazel 4.2.3`, from RequestMetadata.tool_details. */
  tool?: string;
  correlatedInvocationsId?: string;
  /** Distinct RequestMetadata.target_id values (the first few hundred). */
  targets: string[];
  startedMs: number;
  /** The last action completed or was served from the cache. */
  lastActivityMs: number;
  /** No action in flight and none arrived for the idle time: its summary was logged. */
  finished: boolean;
  /** Actions answered from the action cache (GetActionResult hits and cached Execute answers). */
  cacheHits: number;
  /** Metadata/rlib pairs served by one rustc run. */
  fusedPairs: number;
  rustcCpuSpentSeconds: number;
  rustcCpuSavedSeconds: number;
  /** Worker slots seen while it ran (name → slots), to draw one lane per slot. */
  workerSlots: Record<string, number>;
  actions: ActionRecord[];
}
