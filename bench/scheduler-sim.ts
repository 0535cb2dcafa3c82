import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, promiseHooks } from 'node:v8';
import { ComposedScheduler } from '../src/cmd/compose-scheduler';
import { statFields, TICKS_PER_SECOND } from '../src/worker/process-group-cpu';
import { Operation } from '../src/scheduler/operation';
import { Scheduler } from '../src/scheduler/scheduler';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { re, WorkerPb } from '../src/proto';
import { copyRequest, ExecutionRequest } from '../src/scheduler/execution';
import { PartialResult } from '../src/scheduler/scheduler-policy';
import { toTimestamp } from '../src/util/proto-time';
import { FakeClock } from '../test/helpers/fake-clock';
import { SimAction } from './rust-graph';

/**
 * One simulated worker process with `cores` cores shared by the threads of its running actions (processor sharing):
 * a front end is one thread; code generation runs as many threads as the worker has cores (rustc sizes its jobserver
 * to the machine, whatever else runs there). Slots only decide how many actions share the cores.
 */
class SimWorker {
  id = '';
  index = 0;
  private readonly running = new Map<string, Run>();
  private share = 1;
  private lastMs = 0;

  constructor(
    private readonly sim: Simulation,
    readonly cores: number,
  ) {}

  send(m: WorkerPb.ISchedulerMessage): void {
    if (m.assign) this.start(m.assign);
    else if (m.cancel) this.stop(m.cancel.executionId ?? '');
  }

  private start(a: WorkerPb.IAssignment): void {
    const output = a.command?.outputFiles?.[0] ?? '';
    this.sim.assigned(a.executionId!, this.index, output);
    const action = this.sim.actionOf(output);
    const fused = !!a.watchRmeta;
    // A metadata action is killed at its .rmeta; everything else (a fused run too) compiles in full.
    const full = fused || action.kind !== 'metadata';
    const run: Run = { id: a.executionId!, action, front: action.frontMs, codegen: full ? action.workMs - action.frontMs : 0, rmeta: a.watchRmeta || undefined, startMs: this.sim.clock.now() };
    this.sim.later(() => this.sim.call({ kind: 'started', atMs: 0, worker: this.index, run: this.sim.runOf(run.id) }));
    this.change(() => this.running.set(run.id, run));
  }

  private stop(id: string): void {
    const r = this.running.get(id);
    if (!r) return;
    r.cancelTimer?.();
    this.change(() => this.running.delete(id));
  }

  private threads(r: Run): number {
    return r.front > 0 ? 1 : this.cores;
  }

  /** Brings every run's progress up to now at the old share, applies `fn`, then re-times every run at the new share. */
  private change(fn: () => void): void {
    const now = this.sim.clock.now();
    const elapsed = now - this.lastMs;
    for (const r of this.running.values()) {
      if (r.front > 0) r.front -= elapsed * this.share;
      else r.codegen -= elapsed * this.share * this.cores;
    }
    this.lastMs = now;
    fn();
    let demand = 0;
    for (const r of this.running.values()) demand += this.threads(r);
    this.share = Math.min(1, this.cores / Math.max(demand, 1));
    for (const r of this.running.values()) this.time(r);
  }

  private time(r: Run): void {
    r.cancelTimer?.();
    const inFront = r.front > 1e-9;
    const wait = inFront ? r.front / this.share : Math.max(0, r.codegen) / (this.share * this.cores);
    r.cancelTimer = this.sim.clock.schedule(() => {
      if (inFront) {
        if (r.rmeta) {
          this.sim.rmetaReported(r.rmeta);
          const partial = { result: this.result(r), cpuSeconds: r.action.frontMs / 1000 };
          this.sim.later(() => this.sim.call({ kind: 'partial', atMs: 0, worker: this.index, run: this.sim.runOf(r.id), partial }));
        }
        // The front end ends only once change() has counted the time since the last change as its progress (ending it
        // first counted that time as code generation on every core: most of a crate's code generation went free).
        if (r.codegen > 1e-9) return this.change(() => (r.front = 0));
        r.front = 0;
      }
      this.change(() => this.running.delete(r.id));
      const cpuSeconds = (r.action.frontMs + (r.action.kind === 'metadata' && !r.rmeta ? 0 : r.action.workMs - r.action.frontMs)) / 1000;
      const finished = { executionId: r.id, status: { code: 0 }, result: this.result(r), cpuSeconds };
      this.sim.later(() => {
        if (r.rmeta) this.sim.carrierExited(r.rmeta);
        return this.sim.call({ kind: 'finished', atMs: 0, worker: this.index, run: this.sim.runOf(r.id), finished });
      });
    }, wait);
  }

  private result(r: Run) {
    return re.ActionResult.create({ exitCode: 0, executionMetadata: { executionStartTimestamp: toTimestamp(r.startMs), executionCompletedTimestamp: toTimestamp(this.sim.clock.now()) } });
  }
}

interface Run {
  id: string;
  action: SimAction;
  /** CPU ms left in the front end (one thread) and in code generation (all cores). */
  front: number;
  codegen: number;
  /** A fused run: the .rmeta it reports when the front end ends (the metadata action's output). */
  rmeta?: string;
  startMs: number;
  cancelTimer?: () => void;
}

/**
 * One call into the scheduler, as the simulation made it: recorded so that it can be replayed against a fresh
 * scheduler with nothing else running (workers by registration order, runs by assignment order).
 */
export type SchedulerCall =
  | { kind: 'submit'; atMs: number; request: ExecutionRequest }
  | { kind: 'started'; atMs: number; worker: number; run: number }
  | { kind: 'partial'; atMs: number; worker: number; run: number; partial: PartialResult }
  | { kind: 'finished'; atMs: number; worker: number; run: number; finished: WorkerPb.IExecutionFinished }
  | { kind: 'heartbeat'; atMs: number }
  /** Not a call: the simulation ran pending microtasks here and some were the scheduler's (see Simulation.run). */
  | { kind: 'drain'; atMs: number };

export interface SimBuild {
  invocationId: string;
  actions: SimAction[];
  startMs: number;
  /** Distinguishes the digests of repeated builds of the same graph. */
  salt: string;
}

export interface BuildTimes {
  invocationId: string;
  wallMs: number;
}

/**
 * Drives the real scheduler on a fake clock: simulated workers (processor sharing over their cores), and one client per
 * build that submits each action once its inputs exist, as Bazel does.
 */
export class Simulation {
  readonly clock: FakeClock;
  scheduler!: ComposedScheduler['scheduler'];
  decisions = 0;
  /** Per decision: the CPU time of the scheduler call that made it, divided by the decisions it made (µs). */
  latenciesUs: number[] = [];
  /** CPU µs spent inside scheduler calls. */
  schedulerCpuUs = 0;
  failures = 0;
  /** Every scheduler call in order, and every assignment (worker, the action's output), when recording (see replay()). */
  trace?: SchedulerCall[];
  assignments?: { worker: number; output: string }[];
  /** Worker ids by registration order; execution ids by assignment order (and back). */
  private readonly workerIds: string[] = [];
  private readonly runIds: string[] = [];
  private readonly runIndex = new Map<string, number>();
  private readonly byName = new Map<string, SimAction>();
  private readonly pending: (() => unknown)[] = [];
  private lastCompletionMs = 0;
  /**
   * Fused pairs: `.rmeta` reports; metadata actions answered at the simulated time of their `.rmeta` (or of their
   * submission, if later), as the server answers them; answered before their carrier run exited; the summed delay of
   * the answers that came later than the `.rmeta`.
   */
  readonly fused = { pairs: 0, answeredAtRmeta: 0, answeredBeforeExit: 0, lateMs: 0 };
  /** Metadata outputs whose carrier reported the .rmeta and that are not answered yet: when it reported. */
  private readonly rmetaAt = new Map<string, number>();

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  use(c: Pick<ComposedScheduler, 'scheduler'>): this {
    this.scheduler = c.scheduler;
    return this;
  }

  /** Keeps every scheduler call from now on in `trace`. */
  record(): this {
    this.trace = [];
    this.assignments = [];
    return this;
  }

  /** Registers workers that heartbeat every `heartbeatMs` (one timed pass over all of them). */
  addWorkers(count: number, cores: number, heartbeatMs: number): void {
    for (let i = 0; i < count; i++) {
      const w = new SimWorker(this, cores);
      w.index = this.workerIds.length;
      w.id = this.scheduler.registerWorker({ workerName: `sim-${i}`, slots: cores }, w);
      this.workerIds.push(w.id);
    }
    this.every(heartbeatMs, () => this.later(() => this.call({ kind: 'heartbeat', atMs: 0 })));
  }

  /** A worker took an assignment: the next run. */
  assigned(executionId: string, worker: number, output: string): void {
    this.decisions++;
    this.assignments?.push({ worker, output });
    this.runIndex.set(executionId, this.runIds.length);
    this.runIds.push(executionId);
  }

  runOf(executionId: string): number {
    return this.runIndex.get(executionId)!;
  }

  /** Calls `fn` every `ms` of simulated time. */
  every(ms: number, fn: () => void): void {
    const tick = () => {
      fn();
      this.clock.schedule(tick, ms);
    };
    this.clock.schedule(tick, ms);
  }

  actionOf(output: string): SimAction {
    const a = this.byName.get(output);
    if (!a) throw new Error(`simulation: no action for output ${output}`);
    return a;
  }

  later(fn: () => unknown): void {
    this.pending.push(fn);
  }

  rmetaReported(metadataOutput: string): void {
    this.fused.pairs++;
    this.rmetaAt.set(metadataOutput, this.clock.now());
  }

  /** A carrier run is about to report its exit: was its metadata action answered before? */
  carrierExited(metadataOutput: string): void {
    if (!this.rmetaAt.has(metadataOutput)) this.fused.answeredBeforeExit++;
  }

  private metadataAnswered(output: string, submittedMs: number): void {
    const rmetaMs = this.rmetaAt.get(output);
    if (rmetaMs === undefined) return; // Not served by a carrier's .rmeta (run alone, or answered at submission).
    this.rmetaAt.delete(output);
    const late = this.clock.now() - Math.max(rmetaMs, submittedMs);
    if (late > 0) this.fused.lateMs += late;
    else this.fused.answeredAtRmeta++;
  }

  /** Runs the builds to completion; returns each build's simulated wall time. */
  async run(builds: SimBuild[]): Promise<BuildTimes[]> {
    const times: BuildTimes[] = [];
    let left = builds.length;
    for (const b of builds) {
      const start = () => this.startBuild(b, (wallMs) => {
        times.push({ invocationId: b.invocationId, wallMs });
        left--;
      });
      this.clock.schedule(() => this.later(start), Math.max(0, b.startMs));
    }
    this.lastCompletionMs = this.clock.now();
    // In the server every worker message and every Execute is its own event-loop task, and the microtasks it queued
    // (e.g. a fused metadata action's answer: partial result -> result sink -> operation subscribers) run right after
    // it, before anything else happens. So after each call (one per pending fn) and after each clock step, pending
    // promise work is drained: pending = a promise reaction ran before a microtask queued at that point. Those drains go
    // into the trace, and the replay drains there too (and only there). Other promise work in the process (a test
    // runner's) only adds drains, which change nothing; work queued with queueMicrotask would go unseen (the scheduler
    // queues none; the replay's divergence check is the backstop).
    let jobs = 0;
    const stopCounting = promiseHooks.onBefore(() => void jobs++);
    try {
      const drain = async () => {
        const before = jobs;
        let pending = false;
        queueMicrotask(() => (pending = jobs > before));
        await null; // (after what was queued before the probe, and the probe)
        if (!pending) return;
        await drainMicrotasks();
        this.trace?.push({ kind: 'drain', atMs: this.clock.now() });
      };
      while (left > 0) {
        while (this.pending.length > 0) {
          const batch = this.pending.splice(0);
          for (const fn of batch) {
            const r = fn();
            if (r instanceof Promise) await r;
            await drain();
          }
        }
        const next = this.clock.nextAt;
        if (next === undefined || next - this.lastCompletionMs > 3_600_000) throw new Error(`simulation stalled with ${left} builds unfinished`);
        if (left > 0) {
          this.clock.advanceTo(next);
          await drain();
        }
      }
    } finally {
      stopCounting();
    }
    return times;
  }

  /**
   * Calls into the scheduler, measuring its CPU time (process.cpuUsage: µs resolution, ~1.5 µs per reading, which
   * counts against the scheduler) and the decisions (assignments) the call made; each decision gets the call's time
   * divided by their number. CPU time rather than wall time: the machine is shared, and a wall clock would mostly
   * measure the other processes. What runs inside the call counts: garbage collection, and the simulated worker
   * taking the assignment.
   */
  call(c: SchedulerCall): ReturnType<typeof invoke> {
    c.atMs = this.clock.now();
    // The scheduler owns a submitted request (it slims it in place on completion): the trace keeps its own copy.
    this.trace?.push(withOwnRequest(c));
    const before = this.decisions;
    const t = process.cpuUsage();
    const r = invoke(this.scheduler, c, this.workerIds, this.runIds);
    const done = () => {
      const used = process.cpuUsage(t);
      const us = used.user + used.system;
      this.schedulerCpuUs += us;
      const made = this.decisions - before;
      for (let i = 0; i < made; i++) this.latenciesUs.push(us / made);
    };
    if (r instanceof Promise) return r.then((x) => (done(), x));
    done();
    return r;
  }

  private startBuild(b: SimBuild, finished: (wallMs: number) => void): void {
    const t0 = this.clock.now();
    const waiting = b.actions.map((a) => a.deps.length);
    const dependents: number[][] = b.actions.map(() => []);
    b.actions.forEach((a, i) => a.deps.forEach((d) => dependents[d].push(i)));
    b.actions.forEach((a) => this.byName.set(outputOf(b, a), a));
    let left = b.actions.length;
    const submit = (i: number) => {
      const a = b.actions[i];
      const output = outputOf(b, a);
      const submittedMs = this.clock.now();
      const op = this.call({ kind: 'submit', atMs: 0, request: request(b, a) }) as Operation;
      const done = () => {
        this.lastCompletionMs = this.clock.now();
        if (op.response?.status?.code) this.failures++;
        if (--left === 0) finished(this.clock.now() - t0);
        for (const j of dependents[i]) if (--waiting[j] === 0) this.later(() => submit(j));
      };
      const answered = () => {
        if (a.kind === 'metadata') this.metadataAnswered(output, submittedMs);
        this.later(done);
      };
      if (op.done) answered();
      else op.subscribe((o) => o.done && answered());
    };
    // One Execute per pending fn, as every call is its own event in the server (so microtasks are drained between).
    b.actions.forEach((_, i) => waiting[i] === 0 && this.later(() => submit(i)));
  }
}

/** The call as it can be handed to a scheduler, which slims a submitted request in place: a submit gets its own copy. */
export function withOwnRequest(c: SchedulerCall): SchedulerCall {
  return c.kind === 'submit' ? { kind: 'submit', atMs: c.atMs, request: copyRequest(c.request) } : c;
}

/** Makes one recorded call (execution ids of finished messages are rewritten to the run's id in this scheduler). */
function invoke(s: Scheduler, c: SchedulerCall, workers: readonly string[], runs: readonly string[]): Operation | Promise<void> | void {
  switch (c.kind) {
    case 'submit':
      return s.submit(c.request);
    case 'started':
      return s.started(workers[c.worker], runs[c.run]);
    case 'partial':
      return s.partialResult(workers[c.worker], runs[c.run], c.partial);
    case 'finished':
      c.finished.executionId = runs[c.run];
      return s.finished(workers[c.worker], c.finished);
    case 'heartbeat':
      for (const id of workers) s.heartbeat(id);
      return;
    case 'drain':
      return;
  }
}

/**
 * Runs every pending microtask, however deep the promise chain: once inside a microtask, a nextTick callback runs only
 * after the microtask queue is empty (the `await null` gets there). ~0.3 µs; `await new Promise(setImmediate)`
 * drains too but costs ~2.8 µs (an event-loop turn), and a single `await` runs only what was queued before it.
 */
export async function drainMicrotasks(): Promise<void> {
  await null;
  await new Promise<void>((resolve) => process.nextTick(resolve));
}

export interface Replay {
  decisions: number;
  /** The whole process's CPU (every thread: V8's concurrent GC and compiler threads too). */
  cpuSeconds: number;
  /** The main thread's alone (/proc, 10 ms ticks): the scheduler is single-threaded, so this bounds its throughput. */
  mainThreadSeconds: number;
  /** Of which in the kernel (page faults of a growing heap, mostly). */
  systemSeconds: number;
  /** Assignments that went to another action or worker than in the recorded run (0: a faithful replay). */
  divergent: number;
  /**
   * Growth of the old generation over the replay: what the scheduler allocated that lived through scavenges (the
   * main cost of its garbage collection). Unlike CPU time, it hardly varies between identical runs.
   */
  promotedBytes: number;
  /** Scheduler calls replayed, and microtask drains where the simulation's drain ran scheduler work. */
  calls: number;
  drains: number;
}

/**
 * Replays a recorded simulation's scheduler calls, at their simulated times, against a fresh scheduler whose workers
 * only note what they were given: the process's CPU time over the whole replay is the scheduler's (with its garbage
 * collection and timers), unlike per-call readings, which cost ~4 µs each on this machine.
 */
export async function replay(
  trace: readonly SchedulerCall[],
  recorded: { worker: number; output: string }[],
  scheduler: Scheduler,
  clock: FakeClock,
  workers: { count: number; cores: number },
  /** Called every 4,096 calls and at the end (e.g. to sample the heap). */
  sample: () => void = ignore,
): Promise<Replay> {
  const workerIds: string[] = [];
  const runIds: string[] = [];
  const got: { worker: number; output: string }[] = [];
  for (let i = 0; i < workers.count; i++) {
    const send = (m: WorkerPb.ISchedulerMessage) => {
      if (!m.assign) return;
      runIds.push(m.assign.executionId!);
      got.push({ worker: i, output: m.assign.command?.outputFiles?.[0] ?? '' });
    };
    workerIds.push(scheduler.registerWorker({ workerName: `sim-${i}`, slots: workers.cores }, { send }));
  }
  let drains = 0;
  const old0 = oldGenerationBytes();
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuSeconds();
  // A plain loop that stops only where the simulation awaited: after a call's promise (continuing one microtask after it
  // settles, as an await does) and at a drain (continuing once the microtask queue is empty). Not an async function with
  // an await per call and a drainMicrotasks() per drain: those cost the harness ~700 bytes and a few µs a drain, which
  // the process CPU readings charged to the scheduler.
  await new Promise<void>((done, failed) => {
    let i = 0;
    const next = (): void => {
      try {
        while (i < trace.length) {
          const c = trace[i++];
          if ((i & 4095) === 1) sample();
          clock.advanceTo(c.atMs);
          if (c.kind === 'drain') {
            drains++;
            // Where the simulation's drain ran scheduler microtasks (elsewhere, it found none): a microtask queued now
            // runs after those already queued, and a nextTick queued inside a microtask once the queue is empty.
            queueMicrotask(afterMicrotasks);
            return;
          }
          const r = invoke(scheduler, c, workerIds, runIds);
          if (r instanceof Promise) return void r.then(next, failed); // as the simulation awaits a call's promise
        }
        done();
      } catch (err) {
        failed(err);
      }
    };
    const afterMicrotasks = () => process.nextTick(next);
    next();
  });
  const cpu = process.cpuUsage(cpu0);
  const mainThreadSeconds = mainThreadCpuSeconds() - main0;
  const promotedBytes = oldGenerationBytes() - old0;
  sample();
  let divergent = Math.abs(got.length - recorded.length);
  for (let i = 0; i < Math.min(got.length, recorded.length); i++) if (got[i].worker !== recorded[i].worker || got[i].output !== recorded[i].output) divergent++;
  return { decisions: runIds.length, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainThreadSeconds, systemSeconds: cpu.system / 1e6, divergent, calls: trace.length - drains, drains, promotedBytes };
}

/** Old space and large objects: what survived young-generation collections (no full GC runs in a replay here). */
function oldGenerationBytes(): number {
  let n = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space' || s.space_name === 'large_object_space') n += s.space_used_size;
  return n;
}

const ignore = () => undefined;

/** User + system CPU seconds of this process's main thread (its task has the process's id). */
function mainThreadCpuSeconds(): number {
  const f = statFields(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'));
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND;
}

/** The action's one output, which names it: `{salt}/{crate}.rmeta|.rlib|.bin`, or `{salt}/{name}.out`. */
function outputOf(b: SimBuild, a: SimAction): string {
  return `${b.salt}/${a.name}${a.kind === 'other' ? '.out' : ''}`;
}

/** What the execution service would hand the scheduler for this action (classified as rules_rust's actions are). */
function request(b: SimBuild, a: SimAction): ExecutionRequest {
  const output = outputOf(b, a);
  const stem = `${b.salt}/${a.crate}`;
  const rustc = a.kind !== 'other';
  const argv = rustc ? ['process_wrapper', ...(a.kind === 'metadata' ? ['--rustc-quit-on-rmeta', 'true'] : []), '--', 'rustc', `@${output}.params`] : ['build-script', output];
  const crate = a.crate;
  return {
    instanceName: '',
    digestFunction: SHA256,
    actionDigest: Digest.compute(Buffer.from(output), SHA256),
    action: re.Action.create({}),
    command: re.Command.create({ arguments: argv, outputFiles: [output] }),
    platform: [],
    priority: 0,
    invocationId: b.invocationId,
    timeoutMs: 3_600_000,
    mnemonic: rustc ? (a.kind === 'metadata' ? 'RustcMetadata' : 'Rustc') : 'Genrule',
    rust: rustc
      ? {
          kind: a.kind === 'metadata' ? 'rustc-metadata' : a.kind === 'rlib' ? 'rustc-rlib' : 'rustc-bin',
          crateName: crate,
          pairKey: a.kind === 'bin' ? undefined : stem,
          rmetaPath: a.kind === 'bin' ? undefined : `${stem}.rmeta`,
          rlibPath: a.kind === 'bin' ? undefined : `${stem}.rlib`,
          crate,
          deps: a.crateDeps,
        }
      : undefined,
  };
}
