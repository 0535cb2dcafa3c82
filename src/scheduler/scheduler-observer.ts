/**
 * What the scheduler tells the outside (metrics, the dashboard, logs) without exposing its internals: plain,
 * read-only data in events and snapshots. This is a stable interface: fields and event types may be added, never
 * renamed or removed, so consumers should ignore event types they do not know.
 *
 * A *task* is one run of one action (instance + action digest) in flight; an *operation* is one caller's handle on it
 * (Execute / WaitExecution name, own priority and invocation). Several operations can share one task.
 */

/** One action in flight, as observers see it. */
export interface TaskInfo {
  /** The run's id (the worker protocol's execution_id); shared by every operation it serves. */
  readonly id: string;
  readonly instanceName: string;
  /** `hash/size`; empty for an internal run that has no action of its own. */
  readonly actionDigest: string;
  readonly mnemonic?: string;
  /** Coarse class for metrics, from the composed classifier: `rust-metadata`, `rust-rlib`, `rust-bin` or `other`. */
  readonly actionClass: string;
  /** Policy-provided details, e.g. `crate` (crate name) and `phase` (`metadata`, `rlib`, `fused`, `bin`). */
  readonly labels: Readonly<Record<string, string>>;
  /** The platform's canonical key (`name=value` pairs, sorted, comma-separated; empty for no properties). */
  readonly platformKey: string;
  /** Best (lowest) priority of its operations. */
  readonly priority: number;
  /** Builds (RequestMetadata.tool_invocation_id) waiting on it; the first is the one it is accounted to. */
  readonly invocationIds: readonly string[];
  /** Client operations attached to it (0 for an internal run that serves other tasks). */
  readonly operations: number;
  /** When it first entered the queue (epoch ms). */
  readonly queuedAtMs: number;
  /** Serves other tasks (e.g. one run answering two actions) rather than a client operation directly. */
  readonly internal: boolean;
}

/** One caller's operation. */
export interface OperationInfo {
  /** `operations/{id}`, what Execute returned and WaitExecution takes. */
  readonly name: string;
  readonly taskId: string;
  readonly invocationId: string;
  readonly priority: number;
  readonly createdAtMs: number;
}

export interface WorkerInfo {
  readonly id: string;
  readonly name: string;
  /** Advertised properties, `name=value, …`. */
  readonly platform: string;
  /** Slots (cores) it offers, and how many are taken by running tasks. */
  readonly slots: number;
  readonly busySlots: number;
  readonly runningTasks: number;
  readonly registeredAtMs: number;
  readonly lastSeenMs: number;
}

/** Where the time of one run went, in ms: scheduler-side queue wait, then the worker's ExecutedActionMetadata spans. */
export interface ActionTimings {
  readonly queueWaitMs?: number;
  readonly inputFetchMs?: number;
  readonly executionMs?: number;
  readonly outputUploadMs?: number;
  /** From the worker taking the action to its result being uploaded. */
  readonly workerTotalMs?: number;
  /**
   * The same phases as epoch ms on the worker's clock (the dashboard's timeline); a fused run's metadata action ends
   * its execution at the .rmeta.
   */
  readonly workerStartAtMs?: number;
  readonly inputFetchStartAtMs?: number;
  readonly inputFetchEndAtMs?: number;
  readonly executionStartAtMs?: number;
  readonly executionEndAtMs?: number;
  readonly outputUploadStartAtMs?: number;
  readonly outputUploadEndAtMs?: number;
}

export interface TaskOutcome {
  /** google.rpc.Code of ExecuteResponse.status (0: the action ran; see exitCode). */
  readonly code: number;
  readonly message?: string;
  readonly exitCode?: number;
  /** Cancelled because no operation wanted it any more. */
  readonly cancelled: boolean;
  /** Answered by another task's run (its id), e.g. one rustc run serving a metadata/rlib pair. */
  readonly servedBy?: string;
  /** The worker that ran it (ExecutedActionMetadata.worker, or the registered name). */
  readonly workerName?: string;
  /** Slots it held while running. */
  readonly slots?: number;
  readonly timings: ActionTimings;
  /** CPU seconds the command's process tree used (sampled by the worker); absent when unknown. */
  readonly cpuSeconds?: number;
}

/** Per build (tool_invocation_id) counters kept by the build accounting. */
export interface BuildInfo {
  readonly invocationId: string;
  /** Operations created for this build (executed, merged or still in flight), plus cache hits. */
  readonly actions: number;
  /** Runs that finished on a worker for this build. */
  readonly executed: number;
  /** Served from the action cache through Execute. */
  readonly cached: number;
  /** Metadata/rlib pairs one rustc run answered. */
  readonly fusedPairs: number;
  readonly rustcRuns: number;
  readonly rustcCpuSeconds: number;
  readonly rustcCpuSavedSeconds: number;
  readonly inFlight: number;
  readonly startedAtMs: number;
  readonly lastActivityMs: number;
}

export type SchedulerEvent =
  /** A caller's Execute became an operation; `merged` when it joined a task already in flight. */
  | { readonly type: 'operation-created'; readonly atMs: number; readonly operation: OperationInfo; readonly task: TaskInfo; readonly merged: boolean }
  /** An operation completed (its task's result, an error, or CANCELLED): one action of that build is done. */
  | { readonly type: 'operation-completed'; readonly atMs: number; readonly operation: OperationInfo; readonly task: TaskInfo; readonly code: number }
  /** An operation was cancelled (by its caller, or abandoned); the task goes on while others still want it. */
  | { readonly type: 'operation-cancelled'; readonly atMs: number; readonly operation: OperationInfo; readonly task: TaskInfo; readonly reason: string }
  /** A task entered the queue; attempt > 1 after a worker was lost while running it. */
  | { readonly type: 'task-queued'; readonly atMs: number; readonly task: TaskInfo; readonly attempt: number }
  /** A task was assigned to a worker. */
  | { readonly type: 'task-started'; readonly atMs: number; readonly task: TaskInfo; readonly worker: WorkerInfo; readonly slots: number; readonly queueWaitMs: number }
  /** The worker began it (fetching inputs): its operations are EXECUTING. */
  | { readonly type: 'task-executing'; readonly atMs: number; readonly task: TaskInfo; readonly worker: WorkerInfo }
  /** A task is done: ran, failed, timed out, gave up after worker losses, was cancelled, or was answered by another run. */
  | { readonly type: 'task-completed'; readonly atMs: number; readonly task: TaskInfo; readonly outcome: TaskOutcome }
  /** Execute was answered from the action cache (the scheduler queued nothing). */
  | { readonly type: 'cache-hit'; readonly atMs: number; readonly invocationId: string; readonly instanceName: string; readonly actionDigest: string; readonly mnemonic?: string }
  | { readonly type: 'worker-registered'; readonly atMs: number; readonly worker: WorkerInfo }
  | { readonly type: 'worker-lost'; readonly atMs: number; readonly worker: WorkerInfo; readonly reason: string; readonly requeued: number }
  /** A build's counters changed. */
  | { readonly type: 'build-updated'; readonly atMs: number; readonly build: BuildInfo };

export type SchedulerObserver = (event: SchedulerEvent) => void;

export interface RunningTaskInfo {
  readonly task: TaskInfo;
  readonly workerId: string;
  readonly workerName: string;
  readonly slots: number;
  readonly startedAtMs: number;
  /** The worker reported it began (inputs are being fetched or the command runs). */
  readonly executing: boolean;
}

export interface QueueDepth {
  readonly platformKey: string;
  readonly actionClass: string;
  readonly count: number;
}

/** A consistent, read-only picture of the scheduler at `atMs` (built fresh on each call). */
export interface SchedulerSnapshot {
  readonly atMs: number;
  /** Queued tasks per platform and action class (only non-zero entries). */
  readonly queued: readonly QueueDepth[];
  readonly running: readonly RunningTaskInfo[];
  readonly workers: readonly WorkerInfo[];
  /** Client operations not yet completed. */
  readonly liveOperations: number;
}

/** A crate of the learned build graph, with what the last builds measured. */
export interface CrateNode {
  /** The crate's output path without extension (stable across builds). */
  readonly id: string;
  readonly deps: readonly { readonly crate: string; readonly needs: 'rmeta' | 'rlib' }[];
  readonly rmetaMs?: number;
  readonly fullMs?: number;
  /** CPU seconds / wall seconds of its full runs (the highest seen): how many cores it can keep busy. */
  readonly parallelism?: number;
  /** Longest measured path from starting it to the end of the build. */
  readonly remainingMs: number;
}

/**
 * Everything metrics and the dashboard read, handed out by the composition root (src/cmd/execution-services.ts).
 * `observe` delivers events synchronously on the scheduler's path: keep observers cheap and non-throwing (a throwing
 * observer is logged and skipped).
 */
export interface SchedulerInsight {
  /** Every event, or only those of `types` (cheaper: no data is built for events nobody asked for). */
  observe(observer: SchedulerObserver, types?: readonly SchedulerEvent['type'][]): () => void;
  snapshot(): SchedulerSnapshot;
  /** Builds seen recently (bounded), newest last. */
  builds(): BuildInfo[];
  /** The crate graph learned from rustc actions (empty when no Rust policy is installed). */
  crateGraph(): CrateNode[];
}
