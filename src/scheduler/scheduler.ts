import type { Logger } from 'pino';
import { Code, StatusError } from '../grpc/status-error';
import { toRpcStatus } from '../grpc/rpc-status';
import { re, REv2, worker, WorkerPb } from '../proto';
import { toDuration } from '../util/proto-time';
import { actionTimings } from './action-timings';
import { assignment } from './assignment';
import { BuildQueues } from './build-queues';
import { Clock, clockAt, systemClock } from './clock';
import { CompletedOperations } from './completed-operations';
import { Deadlines } from './deadlines';
import { ExecutionRequest, slimRequest, Stage } from './execution';
import { executeResponse } from './execute-response';
import { HeartbeatMonitor } from './heartbeat-monitor';
import { InFlight } from './in-flight';
import { processIds } from './ids';
import { ObserverHub } from './observer-hub';
import { Operation, OperationOwner } from './operation';
import { formatPlatform, platformKey } from './platform';
import { QueueEntry } from './platform-queue';
import { ActionDescriber, describeGeneric } from './action-describer';
import { OperationInfo, SchedulerEvent, SchedulerObserver, SchedulerSnapshot, TaskInfo, TaskOutcome } from './scheduler-observer';
import { PartialResult, SchedulerHost, SchedulerPolicy, TaskRun } from './scheduler-policy';
import { Task } from './task';
import { WorkerClass } from './worker-class';
import { RegisteredWorker, WorkerChannel, workerInfo, WorkerRegistry } from './worker-registry';

export type { WorkerChannel } from './worker-registry';

export interface SchedulerOptions {
  heartbeatIntervalMs: number;
  /** A worker lost this many times while running one task fails it with UNAVAILABLE. */
  maxWorkerLosses: number;
  /** Completed operations stay visible to WaitExecution this long. */
  retainCompletedMs: number;
  /** Extra time beyond the action timeout before the scheduler gives up on a worker's answer. */
  timeoutGraceMs: number;
  /** An operation no client stream follows any more is cancelled after this long (0: never). Default 60 s. */
  abandonAfterMs?: number;
  /** Action class and labels for observers (default: every action is "other"). */
  describe?: ActionDescriber;
  /** Narrow hooks (ordering, slot sizing, serving a task another way), composed in src/cmd. */
  policies?: SchedulerPolicy[];
  clock?: Clock;
  /** Shorthand for a clock that tells this time and uses real timers. */
  now?: () => number;
}

/** Turns a worker's answer into the ExecuteResponse (and writes the AC by policy); injected from the composition root. */
export type ResultSink = (task: Task, finished: WorkerPb.IExecutionFinished) => Promise<REv2.ExecuteResponse>;

/** The policies that implement each hook, listed once (the hot paths loop over only those). */
type Hooks = { [K in keyof SchedulerPolicy]-?: SchedulerPolicy[] };
const HOOKS: (keyof SchedulerPolicy)[] = ['attach', 'created', 'adopt', 'rank', 'slots', 'stageChanged', 'partial', 'finished', 'cancelled', 'operationCreated', 'operationCompleted', 'completed'];

/**
 * The generic scheduler: tasks (one per action in flight) with one operation per caller, queues per platform and
 * invocation, dispatch to workers in O(log n), timeouts, worker-loss recovery and cancellation. What is specific to a
 * kind of action (ordering hints, slot sizes, serving one task from another's run) comes in through policies.
 */
export class Scheduler implements OperationOwner {
  private readonly queues = new BuildQueues();
  private readonly registry = new WorkerRegistry(this.queues);
  /** Client tasks by instance + action digest, until they complete. */
  private readonly inFlight = new InFlight();
  /** Live and recently completed operations, by number. */
  private readonly operations = new Map<number, Operation>();
  private readonly completed: CompletedOperations;
  private readonly clock: Clock;
  private readonly deadlines: Deadlines<Task>;
  private readonly heartbeats: HeartbeatMonitor;
  private readonly hub: ObserverHub;
  private readonly describe: ActionDescriber;
  private readonly policies: SchedulerPolicy[];
  private readonly hooks = {} as Hooks;
  private liveOperations = 0;

  constructor(
    private readonly options: SchedulerOptions,
    private readonly sink: ResultSink,
    private readonly logger: Logger,
  ) {
    this.clock = options.clock ?? (options.now ? clockAt(options.now) : systemClock);
    this.hub = new ObserverHub(logger);
    this.describe = options.describe ?? describeGeneric;
    this.policies = options.policies ?? [];
    for (const h of HOOKS) this.hooks[h] = this.policies.filter((p) => p[h] !== undefined);
    this.deadlines = new Deadlines<Task>(this.clock, (task) => this.timedOut(task));
    this.completed = new CompletedOperations(options.retainCompletedMs, (op) => this.operations.delete(op.seq));
    this.heartbeats = new HeartbeatMonitor(this.registry, this.clock, options.heartbeatIntervalMs, (w, reason) => this.workerLost(w.id, reason));
    const host = this.host();
    for (const p of this.hooks.attach) p.attach!(host);
  }

  /** A caller's operation on the action: joins the task already in flight for it, or queues a new one. */
  submit(request: ExecutionRequest): Operation {
    const existing = this.inFlight.get(request.instanceName, request.actionDigest);
    if (existing) {
      if (request.inputDirectories !== undefined) request.inputDirectories = undefined; // The task already carries the tree.
      const op = this.addOperation(existing, request, true);
      if (existing.queued) this.queues.join(existing, op);
      return op;
    }
    const task = this.newTask(request, false);
    const op = this.addOperation(task, request, false);
    const missing = this.registry.unsatisfiable(request.platform);
    if (missing) {
      const names = this.registry.names().join(', ');
      this.fail(task, new StatusError(Code.FAILED_PRECONDITION, `no registered worker offers platform property ${missing.name}=${missing.value} (required: ${formatPlatform(request.platform)}; workers: ${names})`));
      return op;
    }
    this.inFlight.set(request.instanceName, request.actionDigest, task);
    for (const p of this.hooks.created) p.created!(task);
    for (const p of this.hooks.adopt) if (p.adopt!(task)) return op;
    this.enqueue(task, 1);
    return op;
  }

  /** An operation by name (`operations/{id}` or the bare id), including recently completed ones. */
  operation(name: string): Operation | undefined {
    this.completed.expire(this.clock.now());
    const seq = processIds.parse(name.startsWith('operations/') ? name.slice('operations/'.length) : name);
    return seq === undefined ? undefined : this.operations.get(seq);
  }

  /**
   * Cancels one caller's operation (it completes with CANCELLED). The task goes on for its other operations; when
   * this was the last one, the task is cancelled too (taken out of the queue, or stopped on its worker).
   */
  cancel(op: Operation, reason: string): boolean {
    if (op.done) return false;
    const task = op.task;
    task.removeOperation(op);
    task.info = undefined;
    if (task.operations.length > 0) this.queues.leave(op); // Otherwise the whole task leaves the queue below.
    if (this.hub.wants('operation-cancelled')) this.hub.emit({ type: 'operation-cancelled', atMs: this.clock.now(), operation: this.operationInfo(op), task: this.taskInfo(task), reason });
    this.finishOperation(op, cancelledResponse(reason));
    this.logger.info({ operation: op.id, task: task.id, remaining: task.operations.length, reason }, 'operation cancelled');
    if (task.operations.length === 0 && !task.internal) this.cancelTask(task, reason);
    return true;
  }

  /** No client stream follows `op` any more: cancel it unless one re-attaches within the grace period. */
  unwatched(op: Operation): void {
    const after = this.options.abandonAfterMs ?? 60_000;
    if (after <= 0) return;
    this.clock.schedule(() => {
      if (!op.done && !op.watched) this.cancel(op, `no client followed the operation for ${after / 1000} s`);
    }, after);
  }

  /** Every event, or only those of `types` (the scheduler then builds no data for the others). */
  observe(observer: SchedulerObserver, types?: readonly SchedulerEvent['type'][]): () => void {
    return this.hub.observe(observer, types);
  }

  /** Execute answered from the action cache: nothing is queued, but observers hear of it. */
  cacheHit(hit: { invocationId: string; instanceName: string; actionDigest: string; mnemonic?: string }): void {
    if (this.hub.wants('cache-hit')) this.hub.emit({ type: 'cache-hit', atMs: this.clock.now(), ...hit });
  }

  snapshot(): SchedulerSnapshot {
    const running = [];
    for (const w of this.registry.all()) {
      for (const t of w.running.values()) {
        running.push({ task: this.taskInfo(t), workerId: w.id, workerName: w.name, slots: t.slots, startedAtMs: t.assignedAtMs ?? this.clock.now(), executing: t.stage === 'EXECUTING' });
      }
    }
    return { atMs: this.clock.now(), queued: this.queues.depths((t) => t.description.actionClass), running, workers: [...this.registry.all()].map(workerInfo), liveOperations: this.liveOperations };
  }

  get queuedCount(): number {
    return this.queues.queuedTasks;
  }

  get workerNames(): string[] {
    return this.registry.names();
  }

  registerWorker(reg: WorkerPb.IRegister, channel: WorkerChannel): string {
    const w = this.registry.register(reg, channel, this.clock.now());
    this.logger.info({ worker: w.id, slots: w.slots, platform: w.platformText }, 'worker registered');
    channel.send(worker.SchedulerMessage.create({ registered: { workerId: w.id, heartbeatInterval: toDuration(this.options.heartbeatIntervalMs) } }));
    if (this.hub.wants('worker-registered')) this.hub.emit({ type: 'worker-registered', atMs: this.clock.now(), worker: workerInfo(w) });
    this.drain(w.cls);
    return w.id;
  }

  heartbeat(workerId: string): void {
    const w = this.registry.get(workerId);
    if (w) this.heartbeats.seen(w);
  }

  started(workerId: string, taskId: string): void {
    const w = this.registry.get(workerId);
    const task = w?.running.get(taskId);
    if (!w || !task) return;
    this.heartbeats.seen(w);
    this.setStage(task, 'EXECUTING');
    if (this.hub.wants('task-executing')) this.hub.emit({ type: 'task-executing', atMs: this.clock.now(), task: this.taskInfo(task), worker: workerInfo(w) });
  }

  /** A worker reported part of a result while the command still runs. */
  partialResult(workerId: string, taskId: string, partial: PartialResult): void {
    const task = this.registry.get(workerId)?.running.get(taskId);
    if (task) for (const p of this.hooks.partial) p.partial!(task, partial);
  }

  finished(workerId: string, msg: WorkerPb.IExecutionFinished): Promise<void> {
    const w = this.registry.get(workerId);
    const task = w?.running.get(msg.executionId ?? '');
    if (!w || !task) return RESOLVED; // Late answer for a requeued or cancelled task.
    this.heartbeats.seen(w);
    const ran: TaskRun = { workerName: w.name, slots: task.slots, cpuSeconds: msg.cpuSeconds ?? undefined };
    this.release(task);
    let answered: Promise<void>[] | undefined;
    for (const p of this.hooks.finished) {
      const r = p.finished!(task, msg);
      if (r) (answered ??= []).push(r);
    }
    this.drain(w.cls); // The freed slots take new work before the result is recorded.
    // Promise chains rather than async functions: this runs once per action, and each await costs allocations.
    if (task.internal) {
      this.complete(task, executeResponse(msg.status, msg.result), ran);
      return answered ? allOf(answered) : RESOLVED;
    }
    const recorded = this.record(task, msg, ran);
    return answered ? recorded.then(() => allOf(answered)) : recorded;
  }

  /** A worker's stream ended or it stopped heartbeating: requeue what it was running. */
  workerLost(workerId: string, reason: string): void {
    const w = this.registry.get(workerId);
    if (!w) return;
    this.registry.remove(w);
    const tasks = w.running.values();
    const giveUp = (t: Task) => t.lostWorkers + 1 >= this.options.maxWorkerLosses;
    this.logger.warn({ worker: workerId, reason, running: tasks.length }, 'worker lost');
    if (this.hub.wants('worker-lost')) this.hub.emit({ type: 'worker-lost', atMs: this.clock.now(), worker: workerInfo(w), reason, requeued: tasks.filter((t) => !giveUp(t)).length });
    for (const task of tasks) {
      this.release(task);
      if (giveUp(task)) {
        task.lostWorkers++;
        this.fail(task, new StatusError(Code.UNAVAILABLE, `the worker running this action was lost ${task.lostWorkers} times (last: ${reason}); giving up`), { workerName: w.name });
      } else {
        task.lostWorkers++;
        this.logger.info({ task: task.id, attempt: task.lostWorkers + 1 }, 'requeueing after worker loss');
        this.setStage(task, 'QUEUED');
        this.enqueue(task, task.lostWorkers + 1);
      }
    }
  }

  close(): void {
    this.heartbeats.close();
    this.deadlines.close();
  }

  private host(): SchedulerHost {
    return {
      now: () => this.clock.now(),
      schedule: (fn, ms) => this.clock.schedule(fn, ms),
      submitInternal: (request) => {
        const task = this.newTask(request, true); // (never in flight: no client joins it)
        this.enqueue(task, 1);
        return task;
      },
      completeWith: (task, finished, servedBy) => this.record(task, finished, { servedBy, cpuSeconds: undefined }),
      setStage: (task, stage) => this.setStage(task, stage),
      rerank: (task) => {
        if (!task.queued) return;
        task.rank = this.rank(task);
        this.queues.reorder(task);
      },
      cancel: (task, reason) => this.cancelTask(task, reason),
    };
  }

  /**
   * Described now, while its request is fresh in the cache: the `completed` hooks (accounting) read the class of every
   * task, and at completion its request was cold (a read per task cost ~5 % of the scale bench).
   */
  private newTask(request: ExecutionRequest, internal: boolean): Task {
    return new Task(request, internal, this.clock.now(), this.describe(request));
  }

  /** A caller's operation on `task` (`merged`: it joins a task in flight), with observers and policies told. */
  private addOperation(task: Task, request: ExecutionRequest, merged: boolean): Operation {
    const op = new Operation(request, task, this.clock.now(), this);
    task.addOperation(op);
    task.info = undefined;
    this.operations.set(op.seq, op);
    this.liveOperations++;
    if (this.hub.wants('operation-created')) this.hub.emit({ type: 'operation-created', atMs: this.clock.now(), operation: this.operationInfo(op), task: this.taskInfo(task), merged });
    for (const p of this.hooks.operationCreated) p.operationCreated!(op);
    return op;
  }

  private rank(task: Task): number {
    let rank = 0;
    for (const p of this.hooks.rank) rank += p.rank!(task);
    return rank;
  }

  private enqueue(task: Task, attempt: number): void {
    task.rank = this.rank(task);
    let slots = 1;
    for (const p of this.hooks.slots) slots = Math.max(slots, p.slots!(task));
    task.wantedSlots = slots;
    task.enqueuedAtMs = this.clock.now();
    const q = this.queues.push(task);
    if (this.hub.wants('task-queued')) this.hub.emit({ type: 'task-queued', atMs: this.clock.now(), task: this.taskInfo(task), attempt });
    if (this.logger.isLevelEnabled('debug')) {
      const r = task.request;
      this.logger.debug({ task: task.id, action: r.actionDigest.toString(), mnemonic: r.mnemonic, rank: task.rank || undefined, slots, queued: this.queues.queuedTasks }, 'queued');
    }
    for (const c of q.classes) if (c.freeWorker) this.drain(c);
  }

  /** Hands out work to this class's free workers while both last. */
  private drain(c: WorkerClass): void {
    for (;;) {
      const w = c.freeWorker;
      if (!w) return;
      const entry = this.queues.best(c);
      if (!entry) return;
      this.start(entry, w);
    }
  }

  private start(entry: QueueEntry, w: RegisteredWorker): void {
    const task = entry.task;
    this.queues.remove(task);
    const slots = Math.min(task.wantedSlots, w.freeSlots);
    task.slots = slots;
    task.worker = w;
    task.assignedAtMs = this.clock.now();
    task.chargedTo = entry.op?.request.invocationId ?? task.request.invocationId;
    if (task.info?.invocationIds[0] !== task.chargedTo) task.info = undefined; // The charged build is listed first.
    w.running.add(task);
    this.registry.occupy(w, slots);
    this.queues.charge(task.chargedTo, slots);
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ task: task.id, worker: w.id, slots, action: task.request.actionDigest.toString() }, 'assigned');
    w.channel.send(assignment(task, slots));
    // Backstop: the worker enforces the timeout; this fires only if its answer never comes.
    this.deadlines.set(task, task.request.timeoutMs + this.options.timeoutGraceMs);
    if (this.hub.wants('task-started')) this.hub.emit({ type: 'task-started', atMs: task.assignedAtMs, task: this.taskInfo(task), worker: workerInfo(w), slots, queueWaitMs: task.assignedAtMs - task.enqueuedAtMs });
  }

  /** Gives a running task's slots back (the caller decides what happens to the task). */
  private release(task: Task): RegisteredWorker | undefined {
    const w = task.worker;
    if (!w) return undefined;
    w.running.delete(task);
    this.registry.occupy(w, -task.slots);
    if (task.chargedTo !== undefined) this.queues.charge(task.chargedTo, -task.slots);
    this.deadlines.clear(task);
    task.worker = undefined;
    return w;
  }

  private timedOut(task: Task): void {
    const w = task.worker;
    if (!w) return;
    w.channel.send(worker.SchedulerMessage.create({ cancel: { executionId: task.id } }));
    this.fail(task, new StatusError(Code.DEADLINE_EXCEEDED, `no result from worker ${w.name} within the ${task.request.timeoutMs} ms timeout`), { workerName: w.name, slots: task.slots });
    this.drain(w.cls);
  }

  /** Records a run's answer through the sink (AC write by policy) and completes the task with it. */
  private record(task: Task, msg: WorkerPb.IExecutionFinished, ran: TaskRun): Promise<void> {
    let recorded: Promise<REv2.ExecuteResponse>;
    try {
      recorded = this.sink(task, msg);
    } catch (err) {
      recorded = Promise.reject(err);
    }
    return recorded.then(
      (response) => this.complete(task, response, ran),
      (err) => this.complete(task, re.ExecuteResponse.create({ status: toRpcStatus(new StatusError(Code.INTERNAL, `recording the result failed: ${(err as Error).message}`)) }), ran),
    );
  }

  /** Ends a task with an error status (no worker answer): out of the queue, off its worker, policies told. */
  private fail(task: Task, err: StatusError, ran?: TaskRun): void {
    if (task.done) return;
    if (task.queued) this.queues.remove(task);
    this.release(task);
    const status = toRpcStatus(err);
    for (const p of this.hooks.finished) p.finished!(task, { executionId: task.id, status });
    this.complete(task, re.ExecuteResponse.create({ status }), ran);
  }

  private cancelTask(task: Task, reason: string): void {
    if (task.done) return;
    task.cancelled = true;
    if (task.queued) this.queues.remove(task);
    const w = this.release(task);
    if (w) w.channel.send(worker.SchedulerMessage.create({ cancel: { executionId: task.id } }));
    for (const p of this.hooks.cancelled) p.cancelled!(task);
    this.complete(task, cancelledResponse(reason), { cancelled: true, workerName: w?.name });
    if (w) this.drain(w.cls);
  }

  private complete(task: Task, response: REv2.ExecuteResponse, ran?: TaskRun): void {
    if (task.done) return;
    if (!task.internal) this.inFlight.delete(task.request.instanceName, task.request.actionDigest, task);
    task.stage = 'COMPLETED';
    task.response = response;
    // The input tree (up to MiBs) is not needed any more; the Action and Command neither once observers heard of it.
    if (task.request.inputDirectories !== undefined) task.request.inputDirectories = undefined;
    // (Indexed loops over a task's lists: for-of allocated an iterator per call here, its arrays being of two kinds.)
    const ops = task.operations;
    for (let i = 0; i < ops.length; i++) this.finishOperation(ops[i], response);
    if (this.hub.wants('task-completed')) this.hub.emit({ type: 'task-completed', atMs: this.clock.now(), task: this.taskInfo(task), outcome: this.outcome(task, response, ran) });
    for (const p of this.hooks.completed) p.completed!(task, response, task.description.actionClass, ran);
    slimRequest(task.request);
  }

  private finishOperation(op: Operation, response: REv2.ExecuteResponse): void {
    if (op.done) return;
    op.complete(response);
    this.liveOperations--;
    this.completed.add(op, this.clock.now());
    if (this.hub.wants('operation-completed')) this.hub.emit({ type: 'operation-completed', atMs: this.clock.now(), operation: this.operationInfo(op), task: this.taskInfo(op.task), code: response.status?.code ?? 0 });
    for (const p of this.hooks.operationCompleted) p.operationCompleted!(op);
  }

  private setStage(task: Task, stage: Stage): void {
    if (task.done || task.stage === stage) return;
    task.stage = stage;
    const ops = task.operations;
    for (let i = 0; i < ops.length; i++) ops[i].setStage(stage);
    for (const p of this.hooks.stageChanged) p.stageChanged!(task);
  }

  /** Built once per change of its callers or charge, and shared by the events in between (it is read-only). */
  private taskInfo(task: Task): TaskInfo {
    if (task.info) return task.info;
    const r = task.request;
    return (task.info = {
      id: task.id,
      instanceName: r.instanceName,
      actionDigest: task.internal ? '' : r.actionDigest.toString(),
      mnemonic: r.mnemonic,
      actionClass: task.description.actionClass,
      labels: task.description.labels,
      platformKey: (task.platformKey ??= platformKey(r.platform)),
      priority: task.priority,
      invocationIds: task.invocationIds,
      operations: task.operations.length,
      queuedAtMs: task.queuedAtMs,
      internal: task.internal,
    });
  }

  /** Fixed for the operation's life, so built once. */
  private operationInfo(op: Operation): OperationInfo {
    return (op.info ??= { name: op.operationName, taskId: op.task.id, invocationId: op.request.invocationId, priority: op.request.priority, createdAtMs: op.createdAtMs });
  }

  private outcome(task: Task, response: REv2.ExecuteResponse, ran?: TaskRun): TaskOutcome {
    const result = response.result;
    const queueWaitMs = task.assignedAtMs !== undefined ? task.assignedAtMs - task.enqueuedAtMs : undefined;
    return {
      code: response.status?.code ?? 0,
      message: response.status?.message || undefined,
      exitCode: result ? (result.exitCode ?? 0) : undefined,
      cancelled: !!ran?.cancelled,
      servedBy: ran?.servedBy?.id,
      workerName: result?.executionMetadata?.worker || ran?.workerName,
      slots: ran?.slots,
      timings: actionTimings(result, queueWaitMs),
      cpuSeconds: ran?.cpuSeconds,
    };
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Settles when every promise has (one alone is returned as it is). */
function allOf(ps: Promise<void>[]): Promise<void> {
  return ps.length === 1 ? ps[0] : Promise.all(ps).then(() => undefined);
}

function cancelledResponse(reason: string): REv2.ExecuteResponse {
  return re.ExecuteResponse.create({ status: toRpcStatus(new StatusError(Code.CANCELLED, `cancelled: ${reason}`)) });
}
