import { ComposedScheduler } from '../src/cmd/compose-scheduler';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { re, WorkerPb } from '../src/proto';
import { ExecutionRequest } from '../src/scheduler/execution';
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
    this.sim.decisions++;
    const action = this.sim.actionOf(a.command?.outputFiles?.[0] ?? '');
    const fused = !!a.watchRmeta;
    // A metadata action is killed at its .rmeta; everything else (a fused run too) compiles in full.
    const full = fused || action.kind !== 'metadata';
    const run: Run = { id: a.executionId!, action, front: action.frontMs, codegen: full ? action.workMs - action.frontMs : 0, watch: fused, startMs: this.sim.clock.now() };
    this.sim.later(() => this.sim.call(() => this.sim.scheduler.started(this.id, run.id)));
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
        r.front = 0;
        if (r.watch) {
          const partial = { result: this.result(r), cpuSeconds: r.action.frontMs / 1000 };
          this.sim.later(() => this.sim.call(() => this.sim.scheduler.partialResult(this.id, r.id, partial)));
        }
        if (r.codegen > 1e-9) return this.change(() => undefined);
      }
      this.change(() => this.running.delete(r.id));
      const cpuSeconds = (r.action.frontMs + (r.action.kind === 'metadata' && !r.watch ? 0 : r.action.workMs - r.action.frontMs)) / 1000;
      const finished = { executionId: r.id, status: { code: 0 }, result: this.result(r), cpuSeconds };
      this.sim.later(() => this.sim.call(() => this.sim.scheduler.finished(this.id, finished)));
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
  /** A fused run: report the .rmeta when the front end ends. */
  watch: boolean;
  startMs: number;
  cancelTimer?: () => void;
}

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
  private readonly byName = new Map<string, SimAction>();
  private readonly pending: (() => unknown)[] = [];
  private lastCompletionMs = 0;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  use(c: ComposedScheduler): this {
    this.scheduler = c.scheduler;
    return this;
  }

  /** Registers workers that heartbeat every `heartbeatMs` (one timed pass over all of them). */
  addWorkers(count: number, cores: number, heartbeatMs: number): void {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const w = new SimWorker(this, cores);
      w.id = this.scheduler.registerWorker({ workerName: `sim-${i}`, slots: cores }, w);
      ids.push(w.id);
    }
    this.every(heartbeatMs, () => this.later(() => this.call(() => ids.forEach((id) => this.scheduler.heartbeat(id)))));
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
    while (left > 0) {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        for (const fn of batch) {
          const r = fn();
          if (r instanceof Promise) await r;
        }
      }
      const next = this.clock.nextAt;
      if (next === undefined || next - this.lastCompletionMs > 3_600_000) throw new Error(`simulation stalled with ${left} builds unfinished`);
      if (left > 0) this.clock.advanceTo(next);
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
  call<T>(fn: () => T): T {
    const before = this.decisions;
    const t = process.cpuUsage();
    const r = fn();
    const done = () => {
      const used = process.cpuUsage(t);
      const us = used.user + used.system;
      this.schedulerCpuUs += us;
      const made = this.decisions - before;
      for (let i = 0; i < made; i++) this.latenciesUs.push(us / made);
    };
    if (r instanceof Promise) return r.then((x) => (done(), x)) as T;
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
      const req = request(b, a);
      const op = this.call(() => this.scheduler.submit(req));
      const done = () => {
        this.lastCompletionMs = this.clock.now();
        if (op.response?.status?.code) this.failures++;
        if (--left === 0) finished(this.clock.now() - t0);
        for (const j of dependents[i]) if (--waiting[j] === 0) this.later(() => submit(j));
      };
      if (op.done) this.later(done);
      else op.subscribe((o) => o.done && this.later(done));
    };
    b.actions.forEach((_, i) => waiting[i] === 0 && submit(i));
  }
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
