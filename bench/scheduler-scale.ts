import { composeScheduler, RustPolicies } from '../src/cmd/compose-scheduler';
import { SCHEDULER_NODE_FLAGS } from '../src/cmd/scheduler-node-flags';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { silentLogger } from '../src/logging/logger';
import { executeResponse } from '../src/scheduler/execute-response';
import { Scheduler } from '../src/scheduler/scheduler';
import { re, WorkerPb } from '../src/proto';
import { FakeClock } from '../test/helpers/fake-clock';
import { report } from './bench-util';
import { loadProfile, optimised, recordedBuild, RustProfile, SimAction, syntheticBuild } from './rust-graph';
import { replay, Replay, SimBuild, Simulation, withOwnRequest } from './scheduler-sim';
import { spawn } from 'node:child_process';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** As the server's result sink answers (without its AC write): asynchronously, with the response it builds. */
const sink = async (_t: unknown, f: WorkerPb.IExecutionFinished) => executeResponse(f.status ?? { code: 0 }, f.result);
/** Replays of the recorded calls whose median is reported (SCALE_REPLAYS to change), after one warm-up replay. */
const REPLAYS = Number(process.env.SCALE_REPLAYS) || 5;
const OPTIONS = { heartbeatIntervalMs: 5000, maxWorkerLosses: 3, retainCompletedMs: 10 * 60_000, timeoutGraceMs: 30_000, abandonAfterMs: 60_000 };
const ALL_RUST: RustPolicies = { fusion: true, criticalPath: true, sizeAwareSlots: true };

export interface ScaleResult {
  workers: number;
  actions: number;
  builds: number;
  decisions_per_s: number;
  p99_decision_us: number;
  heap_mb: number;
  max_fair_share_error: number;
}

/**
 * The real scheduler (composed as the server composes it) with 1,000 fake workers of 2 cores on a fake clock, and 50
 * concurrent builds of 2,000 Rust-shaped actions each (five graphs, durations drawn from the recorded rules_rust build),
 * started 200 ms apart: more ready work than slots, so the order and fairness decide.
 * Decisions per second count assignments per CPU second spent in scheduler calls (the whole simulation's rate is printed
 * too): the machine is shared, so wall time would mostly measure the other processes.
 */
export async function scaleBench(profile: RustProfile, workers = 1000, builds = 50, perBuild = 2000, cores = 2): Promise<ScaleResult> {
  const { composed, sim, plan, actions, replayScheduler } = scaleSimulation(profile, workers, builds, perBuild, cores);

  // Fair share: each sampled second, max-min fair split of the busy slots by each build's demand (running + queued).
  const tasks = new Map<string, { build: string; slots: number; running: boolean }>();
  composed.scheduler.observe((e) => {
    if (e.type === 'task-queued') tasks.set(e.task.id, { build: e.task.invocationIds[0], slots: 0, running: false });
    else if (e.type === 'task-started') {
      const t = tasks.get(e.task.id);
      if (t) Object.assign(t, { build: e.task.invocationIds[0], slots: e.slots, running: true });
    }
    else if (e.type === 'task-completed') tasks.delete(e.task.id);
  }, ['task-queued', 'task-started', 'task-completed']);
  const errors: number[] = [];
  let simHeap = 0;
  const load = { samples: 0, queued: 0, busy: 0 };
  sim.every(1000, () => {
    simHeap = Math.max(simHeap, process.memoryUsage().heapUsed);
    const running = new Map<string, number>();
    const demand = new Map<string, number>();
    for (const t of tasks.values()) {
      if (t.running) running.set(t.build, (running.get(t.build) ?? 0) + t.slots);
      demand.set(t.build, (demand.get(t.build) ?? 0) + Math.max(1, t.slots));
    }
    const busy = [...running.values()].reduce((a, b) => a + b, 0);
    load.samples++;
    load.busy += busy / (workers * cores);
    for (const t of tasks.values()) if (!t.running) load.queued++;
    if (busy === 0 || demand.size < 2) return;
    const fair = maxMinFair(demand, busy);
    let worst = 0;
    for (const [b, share] of fair) worst = Math.max(worst, Math.abs((running.get(b) ?? 0) - share) / busy);
    errors.push(worst);
  });

  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const times = await sim.run(plan);
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  composed.scheduler.close();
  if (sim.failures > 0) throw new Error(`${sim.failures} simulated actions failed`);
  const lat = Float64Array.from(sim.latenciesUs).sort();
  const simS = Math.max(...times.map((t) => t.wallMs)) / 1000;
  report(`scheduler scale: ${workers} workers, ${builds} builds, ${actions} actions`, sim.decisions, 'runs', `${(simS / 60).toFixed(1)} simulated min in ${wallS.toFixed(1)} s wall, ${cpuS.toFixed(1)} s CPU`);
  report('scheduler scale: slots busy, on average', (100 * load.busy) / load.samples, '%', `${(load.queued / load.samples).toFixed(0)} tasks queued on average; fair-share error ${(errors.reduce((a, b) => a + b, 0) / Math.max(errors.length, 1)).toFixed(4)}, worst second ${Math.max(0, ...errors).toFixed(3)}`);
  const schedulerS = sim.schedulerCpuUs / 1e6;
  report('scheduler scale, simulated: per-call CPU readings', sim.decisions / schedulerS, 'decisions/s', `${schedulerS.toFixed(1)} s in scheduler calls, ~${measuringUs().toFixed(1)} µs of it per call the readings themselves; whole simulation ${(sim.decisions / cpuS).toFixed(0)} per CPU s, ${(sim.decisions / wallS).toFixed(0)} per wall s; heap ${(simHeap / 2 ** 20).toFixed(0)} MB with the trace`);
  const f = sim.fused;
  report('scheduler scale: fused pairs answered at the .rmeta', f.answeredAtRmeta, `of ${f.pairs}`, `${f.answeredBeforeExit} before their run exited; the others ${(f.lateMs / Math.max(1, f.pairs - f.answeredAtRmeta) / 1000).toFixed(1)} s late on average`);
  report('scheduler scale: decision CPU time p50 / p99', lat[Math.floor(lat.length * 0.5)], 'µs', `p99 ${lat[Math.floor(lat.length * 0.99)].toFixed(1)} µs, max ${lat[lat.length - 1].toFixed(0)} µs (each call's readings included)`);

  // The throughput: the same calls again, on a fresh scheduler composed the same way, with nothing else running.
  const { median: r, replays, heap, traceHeap } = await replayMedian(sim, replayScheduler, workers, cores, REPLAYS, process.env.SCALE_PROFILE);
  const rate = r.decisions / r.cpuSeconds;
  report('scheduler scale: decisions per CPU second (replay, median)', rate, '/s', `of ${replays.length} replays: ${replayRates(replays)}; median run: ${r.decisions} assignments and ${r.calls} calls (${(r.calls / r.cpuSeconds).toFixed(0)} calls/s; ${r.drains} microtask drains) in ${r.cpuSeconds.toFixed(2)} s of process CPU (${r.systemSeconds.toFixed(2)} s of it system), GC included; same assignments as simulated; ${(r.decisions / r.mainThreadSeconds).toFixed(0)} per CPU s of the main thread alone; ${perActionUs(r, actions)} µs CPU per action (fused pairs: two actions, one assignment)`);
  report('scheduler scale: heap, highest during the first replay', heap / 2 ** 20, 'MB', `the recorded trace and a copy of its requests held ${(traceHeap / 2 ** 20).toFixed(0)} MB of it before the replay`);
  return {
    workers,
    actions,
    builds,
    decisions_per_s: Math.round(rate),
    p99_decision_us: round(lat[Math.floor(lat.length * 0.99)]),
    heap_mb: round(heap / 2 ** 20),
    max_fair_share_error: round(errors.reduce((a, b) => a + b, 0) / Math.max(errors.length, 1), 4),
  };
}

/** A scheduler as the bench composes it on a clock. */
type Compose = (clock: FakeClock) => { scheduler: Scheduler };
/** The server's composition, with these Rust policies. */
const asServer = (rust: RustPolicies): Compose => (clock) => composeScheduler(OPTIONS, rust, sink, silentLogger(), clock);

/** The scale run's setup, recording: `workers` of `cores` and `builds` builds from five synthetic graphs, 200 ms apart. */
export function scaleSimulation(profile: RustProfile, workers: number, builds: number, perBuild = 2000, cores = 2, compose: Compose = asServer(ALL_RUST)) {
  const clock = new FakeClock();
  const composed = compose(clock);
  const sim = new Simulation(clock).use(composed).record();
  sim.addWorkers(workers, cores, OPTIONS.heartbeatIntervalMs);
  const graphs = Array.from({ length: 5 }, (_, g) => syntheticBuild(profile, 800, 40, g + 1, perBuild));
  const plan: SimBuild[] = Array.from({ length: builds }, (_, b) => ({ invocationId: `build-${b}`, actions: graphs[b % graphs.length], startMs: b * 200, salt: `b${b}` }));
  return { clock, composed, sim, plan, actions: plan.reduce((n, b) => n + b.actions.length, 0), replayScheduler: compose };
}

/**
 * The recorded calls again, `n` times, each on a fresh scheduler from `compose` with nothing else running (each on its
 * own copy of the requests, which a scheduler slims in place). This machine's CPU time for the same work varies by
 * ±15 % from run to run, so the median of a few is what is reported. The heap is the first replay's (the warm-up's):
 * before a later one, V8 counts garbage it has not swept yet (~100 MB) as used.
 */
async function replayMedian(sim: Simulation, compose: Compose, workers: number, cores: number, n: number, profile?: string) {
  const trace = sim.trace!;
  const replays: Replay[] = [];
  let heap = 0;
  let traceHeap = 0;
  // Replay -1 warms up: on a fresh process the first replay ran 15–25 % slower than the ones after it (the heap and the
  // young generation still growing to their working size), the same with 3 or 6 replays.
  for (let k = -1; k < n; k++) {
    const calls = trace.map(withOwnRequest);
    const replayClock = new FakeClock();
    const fresh = compose(replayClock);
    collectGarbage(); // (also moves the copies to the old generation, where the recorded trace is)
    if (k === -1) traceHeap = process.memoryUsage().heapUsed;
    const stopProfile = await profileReplay(k === 0 ? profile : undefined);
    // (v8's heap statistics: process.memoryUsage() also reads the RSS, ~0.4 ms a call here.)
    const sample = k === -1 ? () => void (heap = Math.max(heap, getHeapStatistics().used_heap_size)) : undefined;
    const r = await replay(calls, sim.assignments!, fresh.scheduler, replayClock, { count: workers, cores }, sample);
    await stopProfile();
    fresh.scheduler.close();
    if (r.divergent > 0) throw new Error(`the replay diverged from the simulation in ${r.divergent} of ${sim.decisions} assignments`);
    if (k >= 0) replays.push(r);
  }
  const byRate = [...replays].sort((a, b) => a.decisions / a.cpuSeconds - b.decisions / b.cpuSeconds);
  return { median: byRate[Math.floor(byRate.length / 2)], replays, heap, traceHeap };
}

const COMPOSITIONS: [string, Compose][] = [
  ['the generic core alone (no policies, generic action classes)', (clock) => ({ scheduler: new Scheduler({ ...OPTIONS, clock }, sink, silentLogger()) })],
  ['composed, Rust policies off (build accounting, crate-graph learning, rustc action classes)', asServer({ fusion: false, criticalPath: false, sizeAwareSlots: false })],
  ['+ critical-path ordering, metadata first, size-aware slots', asServer({ fusion: false, criticalPath: true, sizeAwareSlots: true })],
];

/**
 * What the policies cost: the same 100,000 actions through the generic core alone and through the server's composition
 * with fewer Rust policies (each its own simulation: without fusion every action is its own run, so 100,000 decisions).
 * The full composition is the scale run above.
 */
export async function compositionBench(profile: RustProfile, workers = 1000, builds = 50): Promise<void> {
  for (const [name, compose] of COMPOSITIONS) {
    const { composed, sim, plan, actions } = scaleSimulation(profile, workers, builds, 2000, 2, compose);
    await sim.run(plan);
    composed.scheduler.close();
    const { median: r, replays } = await replayMedian(sim, compose, workers, 2, REPLAYS);
    report(`scheduler scale, ${name}`, r.decisions / r.cpuSeconds, 'decisions/s', `median of ${replays.length} replays: ${replayRates(replays)}; ${r.decisions} assignments, ${r.calls} calls, ${perActionUs(r, actions)} µs CPU per action`);
  }
}

/**
 * With SCALE_PROFILE=file.cpuprofile: a CPU profile of the replay alone (read it with dist/bench/profile-summary.js);
 * with file.heapprofile, its sampled allocations instead.
 * Returns what stops it and writes the file.
 */
async function profileReplay(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  if (file.endsWith('.heapprofile')) {
    // Allocations (sampled every 4 KiB, including objects already collected): what the replay allocates, by site.
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return async () => {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      require('node:fs').writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    };
  }
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    require('node:fs').writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** A full garbage collection now (so a heap reading shows live data only). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** CPU µs of one pair of process.cpuUsage() readings, what each measured call pays on top of its own work. */
function measuringUs(n = 20_000): number {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) process.cpuUsage(process.cpuUsage());
  const u = process.cpuUsage(t);
  return (u.user + u.system) / n;
}

/** Water-filling: capacity shared equally, no build getting more than it asks for. */
export function maxMinFair(demand: Map<string, number>, capacity: number): Map<string, number> {
  const out = new Map<string, number>();
  const sorted = [...demand].sort((a, b) => a[1] - b[1]);
  let left = capacity;
  sorted.forEach(([b, d], i) => {
    const share = Math.min(d, left / (sorted.length - i));
    out.set(b, share);
    left -= share;
  });
  return out;
}

/** The simulated wall time of one build after the same graph was built once (what the scheduler learns, it uses). */
export async function buildWallMs(actions: SimAction[], workers: number, rust: RustPolicies): Promise<number> {
  const clock = new FakeClock();
  const composed = composeScheduler(OPTIONS, rust, sink, silentLogger(), clock);
  const sim = new Simulation(clock).use(composed);
  sim.addWorkers(workers, 4, OPTIONS.heartbeatIntervalMs);
  await sim.run([{ invocationId: 'learn', actions, startMs: 0, salt: 'learn' }]);
  const [t] = await sim.run([{ invocationId: 'measured', actions, startMs: 0, salt: 'measured' }]);
  composed.scheduler.close();
  return t.wallMs;
}

const VARIANTS: [string, RustPolicies][] = [
  ['arrival order, 1 slot each', { fusion: true, criticalPath: false, sizeAwareSlots: false }],
  ['critical path', { fusion: true, criticalPath: true, sizeAwareSlots: false }],
  ['size-aware slots', { fusion: true, criticalPath: false, sizeAwareSlots: true }],
  ['critical path + size-aware slots', ALL_RUST],
];

/** One Rust build on 1 / 8 / 64 workers of 4 cores, with and without critical-path ordering and size-aware slots. */
export async function wallTimeTable(profile: RustProfile): Promise<void> {
  const workspace = syntheticBuild(profile, 380, 20, 7);
  const graphs: [string, SimAction[]][] = [
    ['rules_rust example (recorded)', recordedBuild(profile)],
    ['400-crate workspace', workspace],
    ['400-crate workspace, -O3', optimised(workspace)],
  ];
  for (const [name, actions] of graphs) {
    for (const workers of [1, 8, 64]) {
      let base = 0;
      for (const [variant, rust] of VARIANTS) {
        const ms = await buildWallMs(actions, workers, rust);
        base ||= ms;
        report(`simulated build: ${name}, ${workers} × 4 cores, ${variant}`, ms / 1000, 's', `${(ms / base).toFixed(2)}× arrival order`);
      }
    }
  }
}

/**
 * Dispatch alone: 100,000 tasks from 50 builds queued on the generic core (no policies) with 1,000 workers of 4 slots
 * busy; each finished task frees a slot that the next decision fills. CPU per finish + dispatch.
 */
export async function dispatchBench(tasks = 100_000, workers = 1000): Promise<number> {
  const clock = new FakeClock();
  const s = new Scheduler({ ...OPTIONS, clock }, sink, silentLogger());
  const running: [string, string][] = [];
  for (let w = 0; w < workers; w++) {
    const id: string = s.registerWorker({ workerName: `w${w}`, slots: 4 }, { send: (m) => m.assign && running.push([id, m.assign.executionId!]) });
  }
  for (let i = 0; i < tasks; i++) {
    const digest = Digest.compute(Buffer.from(`dispatch-${i}`), SHA256);
    s.submit({ instanceName: '', digestFunction: SHA256, actionDigest: digest, action: re.Action.create({}), command: re.Command.create({}), platform: [], priority: 0, invocationId: `build-${i % 50}`, timeoutMs: 3_600_000 });
  }
  const cpu0 = process.cpuUsage();
  let done = 0;
  for (let i = 0; i < running.length; i++) {
    const [w, id] = running[i];
    await s.finished(w, { executionId: id, status: { code: 0 }, result: { exitCode: 0 } });
    done++;
  }
  const cpu = process.cpuUsage(cpu0);
  s.close();
  const rate = done / ((cpu.user + cpu.system) / 1e6);
  report(`scheduler dispatch alone: ${tasks} queued tasks, ${workers} workers, finish + next decision`, rate, '/s', `${(1e6 / rate).toFixed(1)} µs CPU each`);
  return rate;
}

/** This machine's speed right now, for reading the numbers above: 1M Map.set with fresh string keys. */
function calibrate(): void {
  const cpu0 = process.cpuUsage();
  const m = new Map<string, number>();
  for (let i = 0; i < 1e6; i++) m.set(`k${i}`, i);
  const cpu = process.cpuUsage(cpu0);
  report('calibration: 1M Map.set with fresh string keys', (cpu.user + cpu.system) / 1000, 'ms CPU', `load average ${require('node:os').loadavg()[0].toFixed(1)} on ${require('node:os').cpus().length} cores`);
}

/** Each replay's rate, main-thread rate and promoted memory, for a report line. */
const replayRates = (replays: Replay[]) => replays.map((x) => `${(x.decisions / x.cpuSeconds).toFixed(0)} (main thread ${(x.decisions / x.mainThreadSeconds).toFixed(0)}, ${(x.promotedBytes / 2 ** 20).toFixed(0)} MB promoted)`).join(', ');
const perActionUs = (r: Replay, actions: number) => ((r.cpuSeconds * 1e6) / actions).toFixed(1);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * `npm run bench` part, and alone: node dist/bench/scheduler-scale.js (last line: one JSON object). It runs in a process
 * of its own started with the scheduler's node flags (as `npm start` and the Helm chart start the scheduler).
 */
export async function schedulerScaleBench(): Promise<ScaleResult> {
  if (!SCHEDULER_NODE_FLAGS.every((f) => process.execArgv.includes(f))) return inSchedulerProcess();
  const profile = loadProfile();
  calibrate();
  // SCALE_ONLY=1: the scale run alone (for profiling); SCALE_WORKERS / SCALE_BUILDS: a smaller one while iterating.
  if (!process.env.SCALE_ONLY) {
    await wallTimeTable(profile);
    await dispatchBench();
  }
  const result = await scaleBench(profile, Number(process.env.SCALE_WORKERS) || undefined, Number(process.env.SCALE_BUILDS) || undefined);
  // SCALE_COMPOSITIONS=1: with SCALE_ONLY, the policies' cost too.
  if (!process.env.SCALE_ONLY || process.env.SCALE_COMPOSITIONS) await compositionBench(profile, Number(process.env.SCALE_WORKERS) || undefined, Number(process.env.SCALE_BUILDS) || undefined);
  console.log(JSON.stringify(result));
  return result;
}

/** This file again, in a child process with the scheduler's node flags; its output goes through, its last line is the result. */
function inSchedulerProcess(): Promise<ScaleResult> {
  // (This process's own node flags too, e.g. --single-threaded in scripts/replay-instructions.sh, or a profiler's.)
  const child = spawn(process.execPath, [...process.execArgv, ...SCHEDULER_NODE_FLAGS, __filename], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    process.stdout.write(d);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`scheduler scale bench exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as ScaleResult);
    });
  });
}

if (require.main === module) {
  schedulerScaleBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
