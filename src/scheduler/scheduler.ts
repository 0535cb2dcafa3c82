import type { Logger } from 'pino';
import { Code, StatusError } from '../grpc/status-error';
import { toRpcStatus } from '../grpc/rpc-status';
import { re, REv2, worker, WorkerPb } from '../proto';
import { spanMs, toDuration, toTimestamp } from '../util/proto-time';
import { BuildAccounting } from './build-accounting';
import { BuildQueue } from './build-queue';
import { CriticalPath } from './critical-path';
import { RustFusion } from './rust-fusion';
import { Execution, ExecutionRequest } from './execution';
import { formatPlatform, PlatformProperty, platformKey, unsatisfied, workerPlatform, WorkerPlatform } from './platform';
import { ObserverHub } from './observer-hub';
import { actionTimings } from './action-timings';
import { ActionDescriber, describeGeneric } from './rust-action-class';
import { CrateNode, OperationInfo, SchedulerInsight, SchedulerObserver, SchedulerSnapshot, TaskInfo, TaskOutcome, WorkerInfo } from './scheduler-observer';

export interface SchedulerOptions {
  heartbeatIntervalMs: number;
  /** A worker lost this many times while running one action fails it with UNAVAILABLE. */
  maxWorkerLosses: number;
  /** Completed operations stay visible to WaitExecution this long. */
  retainCompletedMs: number;
  /** Extra time beyond the action timeout before the scheduler gives up on a worker's answer. */
  timeoutGraceMs: number;
  /** Run a crate's RustcMetadata and Rustc actions as one rustc process (see RustFusion). */
  rustFusion?: boolean;
  /** Quiet time after a build's last action before its summary line is logged. */
  buildIdleMs?: number;
  /** Action class and labels for observers (default: every action is "other"). */
  describe?: ActionDescriber;
  now?: () => number;
}

/** Turns a worker's answer into the ExecuteResponse (and writes the AC by policy); injected from the composition root. */
export type ResultSink = (execution: Execution, finished: WorkerPb.IExecutionFinished) => Promise<REv2.ExecuteResponse>;

export interface WorkerChannel {
  send(message: WorkerPb.ISchedulerMessage): void;
}

interface RegisteredWorker {
  id: string;
  name: string;
  platform: WorkerPlatform;
  slots: number;
  running: Map<string, Execution>;
  registeredAtMs: number;
  lastSeenMs: number;
  platformText: string;
  channel: WorkerChannel;
}

/** Queue, merging of identical in-flight actions, dispatch to workers, timeouts and worker-loss recovery. */
export class Scheduler implements SchedulerInsight {
  private readonly queue = new BuildQueue();
  private readonly inFlight = new Map<string, Execution>();
  private readonly operations = new Map<string, Execution>();
  private readonly workers = new Map<string, RegisteredWorker>();
  private readonly deadlines = new Map<string, NodeJS.Timeout>();
  private readonly watchdog: NodeJS.Timeout;
  private readonly now: () => number;
  private sequence = 0;
  private workerCount = 0;
  private readonly fusion?: RustFusion;
  readonly accounting: BuildAccounting;
  readonly criticalPath = new CriticalPath();
  private readonly hub: ObserverHub;
  private readonly describe: ActionDescriber;

  constructor(
    private readonly options: SchedulerOptions,
    private readonly sink: ResultSink,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
    this.hub = new ObserverHub(logger);
    this.describe = options.describe ?? describeGeneric;
    this.accounting = new BuildAccounting(logger, options.buildIdleMs ?? 2000, this.now, (build) => this.hub.active && this.hub.emit({ type: 'build-updated', atMs: this.now(), build }));
    if (options.rustFusion) {
      this.fusion = new RustFusion(
        {
          enqueue: (request) => this.enqueue(new Execution(request, new Date(this.now()), this.sequence++)),
          completeWith: (e, finished, servedBy) => this.completeWith(e, finished, { servedBy }),
          fused: (invocationId, saved) => this.accounting.fused(invocationId, saved),
        },
        logger.child({ component: 'rust-fusion' }),
      );
    }
    this.watchdog = setInterval(() => this.checkHeartbeats(), options.heartbeatIntervalMs);
    this.watchdog.unref();
  }

  /** Queues an action, or joins the identical one already queued or running. */
  submit(request: ExecutionRequest): Execution {
    const key = `${request.instanceName}\n${request.actionDigest.key}`;
    const existing = this.inFlight.get(key);
    if (existing && !existing.done) {
      if (this.hub.active) this.hub.emit({ type: 'operation-created', atMs: this.now(), operation: operationInfo(existing, request, this.now()), task: this.taskInfo(existing), merged: true });
      this.accounting.merged(request.invocationId);
      return existing;
    }
    const e = new Execution(request, new Date(this.now()), this.sequence++);
    this.operations.set(e.id, e);
    if (this.hub.active) this.hub.emit({ type: 'operation-created', atMs: this.now(), operation: operationInfo(e, request, this.now()), task: this.taskInfo(e), merged: false });
    const impossible = this.unsatisfiable(request.platform);
    if (impossible) {
      this.accounting.started(e);
      this.finishWithStatus(e, impossible);
      return e;
    }
    this.inFlight.set(key, e);
    this.accounting.started(e);
    if (request.rust?.crate && request.rust.deps) this.criticalPath.observe(request.rust.crate, request.rust.deps);
    if (this.fusion?.attach(e)) return e;
    return this.enqueue(e);
  }

  observe(observer: SchedulerObserver): () => void {
    return this.hub.observe(observer);
  }

  /** Execute answered from the action cache: counted for the build and told to observers. */
  cacheHit(hit: { invocationId: string; instanceName: string; actionDigest: string; mnemonic?: string }): void {
    this.accounting.cached(hit.invocationId);
    if (this.hub.active) this.hub.emit({ type: 'cache-hit', atMs: this.now(), ...hit });
  }

  snapshot(): SchedulerSnapshot {
    const depth = new Map<string, { platformKey: string; actionClass: string; count: number }>();
    for (const e of this.queue.items()) {
      const platform = platformKey(e.request.platform);
      const actionClass = this.describe(e.request).actionClass;
      const k = `${platform}\n${actionClass}`;
      const d = depth.get(k) ?? { platformKey: platform, actionClass, count: 0 };
      d.count++;
      depth.set(k, d);
    }
    const running = [...this.workers.values()].flatMap((w) =>
      [...w.running.values()].map((e) => ({ task: this.taskInfo(e), workerId: w.id, workerName: w.name, slots: 1, startedAtMs: e.assignedAtMs ?? this.now(), executing: e.stage === 'EXECUTING' })),
    );
    let live = 0;
    for (const e of this.operations.values()) if (!e.done && !e.request.carrier) live++;
    return { atMs: this.now(), queued: [...depth.values()], running, workers: [...this.workers.values()].map(workerInfo), liveOperations: live };
  }

  builds() {
    return this.accounting.builds();
  }

  crateGraph(): CrateNode[] {
    return this.criticalPath.snapshot();
  }

  private taskInfo(e: Execution): TaskInfo {
    const r = e.request;
    const d = this.describe(r);
    return {
      id: e.id,
      instanceName: r.instanceName,
      actionDigest: r.carrier ? '' : r.actionDigest.toString(),
      mnemonic: r.mnemonic,
      actionClass: d.actionClass,
      labels: d.labels,
      platformKey: platformKey(r.platform),
      priority: r.priority,
      invocationIds: [r.invocationId],
      operations: r.carrier ? 0 : 1,
      queuedAtMs: e.queuedAt.getTime(),
      internal: !!r.carrier,
    };
  }

  private enqueue(e: Execution): Execution {
    const crate = e.request.rust?.crate;
    e.remainingMs = crate ? this.criticalPath.remainingMs(crate) : 0;
    this.queue.push(e);
    if (this.hub.active) this.hub.emit({ type: 'task-queued', atMs: this.now(), task: this.taskInfo(e), attempt: 1 });
    const r = e.request;
    this.logger.debug({ execution: e.id, action: r.actionDigest.toString(), mnemonic: r.mnemonic, rust: r.rust?.kind, crate: r.rust?.crateName, carrier: r.carrier, remainingMs: e.remainingMs || undefined, queued: this.queue.length }, 'queued');
    this.dispatch();
    return e;
  }

  /** A fused run's .rmeta is ready (worker message). */
  rmetaReady(workerId: string, msg: WorkerPb.IRmetaReady): void {
    const e = this.workers.get(workerId)?.running.get(msg.executionId ?? '');
    if (e && this.fusion?.isCarrier(e)) {
      if (e.request.rust?.crate) this.criticalPath.measured(e.request.rust.crate, { rmetaMs: executionMs(msg.result ?? {}) });
      this.fusion.rmetaReady(e, msg);
      this.dispatch();
    }
  }

  /** An operation by name (`operations/{id}` or the bare id), including recently completed ones. */
  operation(name: string): Execution | undefined {
    return this.operations.get(name.replace(/^operations\//, ''));
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  get workerNames(): string[] {
    return [...this.workers.values()].map((w) => w.name);
  }

  registerWorker(reg: WorkerPb.IRegister, channel: WorkerChannel): string {
    const id = `w${++this.workerCount}-${reg.workerName ?? ''}`;
    const props = (reg.properties ?? []).map((p) => ({ name: p.name ?? '', value: p.value ?? '' }));
    const w: RegisteredWorker = { id, name: reg.workerName || id, platform: workerPlatform(props), platformText: formatPlatform(props), slots: Math.max(1, reg.slots ?? 1), running: new Map(), registeredAtMs: this.now(), lastSeenMs: this.now(), channel };
    this.workers.set(id, w);
    this.logger.info({ worker: id, slots: reg.slots, platform: formatPlatform(props) }, 'worker registered');
    if (this.hub.active) this.hub.emit({ type: 'worker-registered', atMs: this.now(), worker: workerInfo(w) });
    channel.send(worker.SchedulerMessage.create({ registered: { workerId: id, heartbeatInterval: toDuration(this.options.heartbeatIntervalMs) } }));
    this.dispatch();
    return id;
  }

  heartbeat(workerId: string): void {
    const w = this.workers.get(workerId);
    if (w) w.lastSeenMs = this.now();
  }

  started(workerId: string, executionId: string): void {
    const w = this.workers.get(workerId);
    const e = w?.running.get(executionId);
    if (!w || !e) return;
    w.lastSeenMs = this.now();
    e.setStage('EXECUTING');
    if (this.hub.active) this.hub.emit({ type: 'task-executing', atMs: this.now(), task: this.taskInfo(e), worker: workerInfo(w) });
  }

  async finished(workerId: string, msg: WorkerPb.IExecutionFinished): Promise<void> {
    const w = this.workers.get(workerId);
    const e = w?.running.get(msg.executionId ?? '');
    if (!w || !e) return; // Late answer for a requeued or cancelled action.
    w.lastSeenMs = this.now();
    w.running.delete(e.id);
    this.clearDeadline(e);
    this.accounting.executed(e.request.invocationId);
    if (e.request.rust && msg.result) this.rustcRun(e, msg);
    const ran = { workerName: w.name, cpuSeconds: msg.cpuSeconds ?? undefined, slots: 1 };
    if (this.fusion?.isCarrier(e)) {
      await this.fusion.carrierFinished(e, msg);
      e.complete(re.ExecuteResponse.create({ status: msg.status ?? undefined }));
      this.completed(e, { result: msg.result ?? undefined, status: msg.status ?? undefined }, ran);
    } else {
      await this.completeWith(e, msg, ran);
    }
    this.dispatch();
  }

  /** Accounts a rustc run and learns its duration: to the .rmeta for a metadata action, to the end for the rest. */
  private rustcRun(e: Execution, msg: WorkerPb.IExecutionFinished): void {
    this.accounting.rustcRun(e, msg.cpuSeconds ?? 0);
    const r = e.request.rust!;
    const ms = executionMs(msg.result ?? {});
    if (r.crate && ms !== undefined && msg.result?.exitCode === 0) this.criticalPath.measured(r.crate, r.kind === 'rustc-metadata' && !e.request.carrier ? { rmetaMs: ms } : { fullMs: ms, cpuSeconds: msg.cpuSeconds || undefined });
  }

  private async completeWith(e: Execution, msg: WorkerPb.IExecutionFinished, ran: Ran): Promise<void> {
    try {
      this.complete(e, await this.sink(e, msg), ran);
    } catch (err) {
      this.finishWithStatus(e, new StatusError(Code.INTERNAL, `recording the result failed: ${(err as Error).message}`), ran);
    }
  }

  /** A worker's stream ended or it stopped heartbeating: requeue what it was running. */
  workerLost(workerId: string, reason: string): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    this.workers.delete(workerId);
    this.logger.warn({ worker: workerId, reason, running: w.running.size }, 'worker lost');
    if (this.hub.active) this.hub.emit({ type: 'worker-lost', atMs: this.now(), worker: workerInfo(w), reason, requeued: [...w.running.values()].filter((e) => e.lostWorkers + 1 < this.options.maxWorkerLosses).length });
    for (const e of w.running.values()) {
      this.clearDeadline(e);
      e.lostWorkers++;
      e.workerId = undefined;
      if (e.lostWorkers >= this.options.maxWorkerLosses) {
        this.finishWithStatus(e, new StatusError(Code.UNAVAILABLE, `the worker running this action was lost ${e.lostWorkers} times (last: ${reason}); giving up`));
      } else {
        this.logger.info({ execution: e.id, attempt: e.lostWorkers + 1 }, 'requeueing after worker loss');
        e.setStage('QUEUED');
        this.queue.push(e);
        if (this.hub.active) this.hub.emit({ type: 'task-queued', atMs: this.now(), task: this.taskInfo(e), attempt: e.lostWorkers + 1 });
      }
    }
    this.dispatch();
  }

  close(): void {
    clearInterval(this.watchdog);
    for (const t of this.deadlines.values()) clearTimeout(t);
  }

  private dispatch(): void {
    if (this.queue.length === 0) return;
    const runningPerInvocation = this.countRunningPerInvocation();
    for (const w of this.workers.values()) {
      // (Letting a fused run past its .rmeta give up its slot was measured: no faster on 2 cores, more CPU.)
      while (w.running.size < w.slots) {
        const e = this.queue.take(w.platform, (inv) => runningPerInvocation.get(inv) ?? 0);
        if (!e) break;
        runningPerInvocation.set(e.request.invocationId, (runningPerInvocation.get(e.request.invocationId) ?? 0) + 1);
        this.assign(w, e);
      }
      if (this.queue.length === 0) return;
    }
  }

  private assign(w: RegisteredWorker, e: Execution): void {
    w.running.set(e.id, e);
    e.workerId = w.id;
    e.assignedAtMs = this.now();
    const r = e.request;
    if (this.hub.active) this.hub.emit({ type: 'task-started', atMs: this.now(), task: this.taskInfo(e), worker: workerInfo(w), slots: 1, queueWaitMs: e.assignedAtMs - e.queuedAt.getTime() });
    this.logger.debug({ execution: e.id, worker: w.id, action: r.actionDigest.toString(), mnemonic: r.mnemonic }, 'assigned');
    w.channel.send(
      worker.SchedulerMessage.create({
        assign: {
          executionId: e.id,
          instanceName: r.instanceName,
          digestFunction: r.digestFunction.id,
          actionDigest: r.actionDigest.toProto(),
          action: r.action,
          command: r.command,
          timeout: toDuration(r.timeoutMs),
          queuedTimestamp: toTimestamp(e.queuedAt.getTime()),
          watchRmeta: r.watchRmeta ?? '',
          inputDirectories: r.inputDirectories ?? [],
        },
      }),
    );
    // Backstop: the worker enforces the timeout; this fires only if its answer never comes.
    this.deadlines.set(
      e.id,
      setTimeout(() => {
        this.deadlines.delete(e.id);
        if (w.running.delete(e.id)) {
          w.channel.send(worker.SchedulerMessage.create({ cancel: { executionId: e.id } }));
          this.finishWithStatus(e, new StatusError(Code.DEADLINE_EXCEEDED, `no result from worker ${w.name} within the ${r.timeoutMs} ms timeout`), { workerName: w.name, slots: 1 });
          this.dispatch();
        }
      }, r.timeoutMs + this.options.timeoutGraceMs).unref(),
    );
  }

  private complete(e: Execution, response: REv2.ExecuteResponse, ran?: Ran): void {
    if (e.done) return;
    const key = `${e.request.instanceName}\n${e.request.actionDigest.key}`;
    if (this.inFlight.get(key) === e) this.inFlight.delete(key);
    e.complete(response);
    this.accounting.completed(e);
    this.completed(e, response, ran);
    setTimeout(() => this.operations.delete(e.id), this.options.retainCompletedMs).unref();
  }

  /** Tells observers a task is done. */
  private completed(e: Execution, response: REv2.IExecuteResponse, ran?: Ran): void {
    if (!this.hub.active) return;
    const outcome: TaskOutcome = {
      code: response.status?.code ?? 0,
      message: response.status?.message || undefined,
      exitCode: response.result ? (response.result.exitCode ?? 0) : undefined,
      cancelled: false,
      servedBy: ran?.servedBy,
      workerName: response.result?.executionMetadata?.worker || ran?.workerName,
      slots: ran?.slots,
      timings: actionTimings(response.result, e.assignedAtMs !== undefined ? e.assignedAtMs - e.queuedAt.getTime() : undefined),
      cpuSeconds: ran?.cpuSeconds,
    };
    this.hub.emit({ type: 'task-completed', atMs: this.now(), task: this.taskInfo(e), outcome });
  }

  private finishWithStatus(e: Execution, err: StatusError, ran?: Ran): void {
    this.queue.remove(e);
    if (this.fusion?.isCarrier(e)) {
      void this.fusion.carrierFinished(e, { executionId: e.id, status: toRpcStatus(err) });
      e.complete(re.ExecuteResponse.create({ status: toRpcStatus(err) }));
      this.completed(e, { status: toRpcStatus(err) }, ran);
      return;
    }
    this.complete(e, re.ExecuteResponse.create({ status: toRpcStatus(err) }), ran);
  }

  private clearDeadline(e: Execution): void {
    const t = this.deadlines.get(e.id);
    if (t) clearTimeout(t);
    this.deadlines.delete(e.id);
  }

  /** FAILED_PRECONDITION when workers are registered but none could ever run this platform. */
  private unsatisfiable(required: PlatformProperty[]): StatusError | undefined {
    if (this.workers.size === 0) return undefined; // Workers may still be starting.
    let missing: PlatformProperty | undefined;
    for (const w of this.workers.values()) {
      const m = unsatisfied(w.platform, required);
      if (!m) return undefined;
      missing ??= m;
    }
    return new StatusError(
      Code.FAILED_PRECONDITION,
      `no registered worker offers platform property ${missing!.name}=${missing!.value} (required: ${formatPlatform(required)}; workers: ${[...this.workers.values()].map((w) => w.name).join(', ')})`,
    );
  }

  private countRunningPerInvocation(): Map<string, number> {
    const m = new Map<string, number>();
    for (const w of this.workers.values()) for (const e of w.running.values()) m.set(e.request.invocationId, (m.get(e.request.invocationId) ?? 0) + 1);
    return m;
  }

  private checkHeartbeats(): void {
    const cutoff = this.now() - 3 * this.options.heartbeatIntervalMs;
    for (const w of [...this.workers.values()]) if (w.lastSeenMs < cutoff) this.workerLost(w.id, 'missed 3 heartbeats');
  }
}

/** Who ran a task, for observers. */
interface Ran {
  workerName?: string;
  slots?: number;
  cpuSeconds?: number;
  servedBy?: string;
}

function operationInfo(e: Execution, request: ExecutionRequest, atMs: number): OperationInfo {
  return { name: e.operationName, taskId: e.id, invocationId: request.invocationId, priority: request.priority, createdAtMs: atMs };
}

function workerInfo(w: RegisteredWorker): WorkerInfo {
  return { id: w.id, name: w.name, platform: w.platformText, slots: w.slots, busySlots: w.running.size, runningTasks: w.running.size, registeredAtMs: w.registeredAtMs, lastSeenMs: w.lastSeenMs };
}

function executionMs(r: REv2.IActionResult): number | undefined {
  return spanMs(r.executionMetadata?.executionStartTimestamp, r.executionMetadata?.executionCompletedTimestamp);
}
