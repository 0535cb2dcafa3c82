/**
 * Every metric this backend exports: the one list that code creates metrics from, the README documents and a test
 * checks against a real /metrics page. Names start with `rustexec_` and carry their unit (`_seconds`, `_bytes`,
 * `_total` for counters; gauges name what they count).
 */
export interface MetricSpec<L extends string = string> {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  labelNames: readonly L[];
  buckets?: number[];
  /** Which processes export it. */
  where: readonly ('frontend' | 'scheduler' | 'worker')[];
}

const spec = <L extends string>(s: MetricSpec<L>): MetricSpec<L> => s;

/** Latencies from sub-millisecond cache answers to half-hour Execute streams. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
/** Action durations: queue waits and runs from milliseconds to an hour. */
const ACTION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export const METRICS = {
  grpcStarted: spec({ name: 'rustexec_grpc_server_started_total', type: 'counter', help: 'gRPC calls started, by service and method', labelNames: ['service', 'method'], where: ['frontend', 'scheduler'] }),
  grpcHandled: spec({ name: 'rustexec_grpc_server_handled_total', type: 'counter', help: 'gRPC calls finished, by service, method and status code', labelNames: ['service', 'method', 'code'], where: ['frontend', 'scheduler'] }),
  grpcSeconds: spec({ name: 'rustexec_grpc_server_handling_seconds', type: 'histogram', help: 'Time from a gRPC call\'s start to its status, by service and method', labelNames: ['service', 'method'], buckets: LATENCY_BUCKETS, where: ['frontend', 'scheduler'] }),

  casReadBytes: spec({ name: 'rustexec_cas_read_bytes_total', type: 'counter', help: 'Bytes of completed CAS reads, by instance and storage tier (each configured node)', labelNames: ['instance', 'tier'], where: ['frontend', 'scheduler'] }),
  casWrittenBytes: spec({ name: 'rustexec_cas_written_bytes_total', type: 'counter', help: 'Bytes of committed CAS writes, by instance and storage tier', labelNames: ['instance', 'tier'], where: ['frontend', 'scheduler'] }),
  casReads: spec({ name: 'rustexec_cas_reads_total', type: 'counter', help: 'CAS reads by instance, tier and result (ok, not_found, error)', labelNames: ['instance', 'tier', 'result'], where: ['frontend', 'scheduler'] }),
  casWrites: spec({ name: 'rustexec_cas_writes_total', type: 'counter', help: 'CAS uploads by instance, tier and result (committed, aborted, error)', labelNames: ['instance', 'tier', 'result'], where: ['frontend', 'scheduler'] }),
  casFindMissing: spec({ name: 'rustexec_cas_find_missing_digests_total', type: 'counter', help: 'Digests asked about in FindMissing, by instance, tier and result (present, missing)', labelNames: ['instance', 'tier', 'result'], where: ['frontend', 'scheduler'] }),

  acLookups: spec({ name: 'rustexec_action_cache_lookups_total', type: 'counter', help: 'Action cache lookups as clients see them (after the completeness check), by instance and result (hit, miss)', labelNames: ['instance', 'result'], where: ['frontend', 'scheduler'] }),
  acWrites: spec({ name: 'rustexec_action_cache_writes_total', type: 'counter', help: 'Action results stored, by instance', labelNames: ['instance'], where: ['frontend', 'scheduler'] }),
  existenceCacheLookups: spec({ name: 'rustexec_existence_cache_lookups_total', type: 'counter', help: 'Digests looked up in an existence cache, by instance, tier and result (hit: known present, miss: asked the backend)', labelNames: ['instance', 'tier', 'result'], where: ['frontend', 'scheduler'] }),
  workerFileCacheLookups: spec({ name: 'rustexec_worker_file_cache_lookups_total', type: 'counter', help: 'Input files a worker looked up in its file cache, by result (hit, miss)', labelNames: ['result'], where: ['worker'] }),
  evictions: spec({ name: 'rustexec_evictions_total', type: 'counter', help: 'Entries evicted to stay within a size bound, by cache (cas_filesystem, cas_memory, action_cache, worker_file_cache)', labelNames: ['cache'], where: ['frontend', 'scheduler', 'worker'] }),
  evictedBytes: spec({ name: 'rustexec_evicted_bytes_total', type: 'counter', help: 'Bytes evicted to stay within a size bound, by cache', labelNames: ['cache'], where: ['frontend', 'scheduler', 'worker'] }),

  s3Requests: spec({ name: 'rustexec_s3_requests_total', type: 'counter', help: 'S3 requests by HTTP method and response status (or "network_error")', labelNames: ['method', 'status'], where: ['frontend', 'scheduler'] }),
  s3Errors: spec({ name: 'rustexec_s3_request_errors_total', type: 'counter', help: 'S3 requests that failed: network errors, timeouts and 5xx answers, by HTTP method', labelNames: ['method'], where: ['frontend', 'scheduler'] }),
  s3Seconds: spec({ name: 'rustexec_s3_request_seconds', type: 'histogram', help: 'Time to an S3 response\'s headers, by HTTP method', labelNames: ['method'], buckets: LATENCY_BUCKETS, where: ['frontend', 'scheduler'] }),

  queueActions: spec({ name: 'rustexec_queue_actions', type: 'gauge', help: 'Actions waiting for a worker, by platform and action class (rust-metadata, rust-rlib, rust-bin, other); the autoscaling signal', labelNames: ['platform', 'class'], where: ['scheduler'] }),
  runningActions: spec({ name: 'rustexec_running_actions', type: 'gauge', help: 'Actions assigned to workers, by action class', labelNames: ['class'], where: ['scheduler'] }),
  liveOperations: spec({ name: 'rustexec_live_operations', type: 'gauge', help: 'Client operations (Execute) not yet completed', labelNames: [], where: ['scheduler'] }),
  queueWaitSeconds: spec({ name: 'rustexec_queue_wait_seconds', type: 'histogram', help: 'Time an action waited in the queue before a worker took it, by action class', labelNames: ['class'], buckets: ACTION_BUCKETS, where: ['scheduler'] }),
  executionSeconds: spec({ name: 'rustexec_execution_seconds', type: 'histogram', help: 'Time a worker spent running an action\'s command (ExecutedActionMetadata), by action class', labelNames: ['class'], buckets: ACTION_BUCKETS, where: ['scheduler'] }),
  actionsCompleted: spec({ name: 'rustexec_actions_completed_total', type: 'counter', help: 'Actions finished by the scheduler, by action class and result (ok, failed: non-zero exit, error: a non-OK status, cancelled)', labelNames: ['class', 'result'], where: ['scheduler'] }),
  workersConnected: spec({ name: 'rustexec_workers_connected', type: 'gauge', help: 'Workers registered with the scheduler', labelNames: [], where: ['scheduler'] }),
  workerSlots: spec({ name: 'rustexec_worker_slots', type: 'gauge', help: 'Execution slots offered by registered workers', labelNames: [], where: ['scheduler'] }),
  workerBusySlots: spec({ name: 'rustexec_worker_busy_slots', type: 'gauge', help: 'Execution slots taken by running actions', labelNames: [], where: ['scheduler'] }),
  workersLost: spec({ name: 'rustexec_workers_lost_total', type: 'counter', help: 'Workers lost (stream closed or heartbeats missed) while registered', labelNames: [], where: ['scheduler'] }),
  fusedPairs: spec({ name: 'rustexec_rust_fused_pairs_total', type: 'counter', help: 'RustcMetadata/Rustc action pairs answered by one rustc run', labelNames: [], where: ['scheduler'] }),
  rustcRuns: spec({ name: 'rustexec_rustc_runs_total', type: 'counter', help: 'rustc processes run by workers', labelNames: [], where: ['scheduler'] }),
  rustcCpuSeconds: spec({ name: 'rustexec_rustc_cpu_seconds_total', type: 'counter', help: 'CPU seconds rustc process trees used (sampled by workers)', labelNames: [], where: ['scheduler'] }),
  rustcCpuSavedSeconds: spec({ name: 'rustexec_rustc_cpu_saved_seconds_total', type: 'counter', help: 'rustc CPU seconds fusion saved: the separate metadata runs that did not happen', labelNames: [], where: ['scheduler'] }),
} as const;

export type MetricName = keyof typeof METRICS;
