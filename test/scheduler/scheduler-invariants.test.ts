import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeScheduler } from '../../src/cmd/compose-scheduler';
import { silentLogger } from '../../src/logging/logger';
import { re, WorkerPb } from '../../src/proto';
import { ExecutionRequest } from '../../src/scheduler/execution';
import { Operation } from '../../src/scheduler/operation';
import { Scheduler } from '../../src/scheduler/scheduler';
import { FakeClock } from '../helpers/fake-clock';
import { echoSink, request } from './scheduler-fakes';

/** A deterministic generator (the same seed, the same walk: a failure names its seed). */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0), s / 2 ** 32);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] };
}

/** What a worker was given and has not answered or been told to drop. */
interface Run {
  executionId: string;
  watchRmeta: string;
  rmetaSent: boolean;
}

class Worker {
  id = '';
  lost = false;
  /** Messages after its loss (must stay 0). */
  sentAfterLoss = 0;
  readonly runs = new Map<string, Run>();
  readonly slots: number;
  constructor(slots: number) {
    this.slots = slots;
  }
  send = (m: WorkerPb.ISchedulerMessage) => {
    if (this.lost) this.sentAfterLoss++;
    if (m.assign) this.runs.set(m.assign.executionId!, { executionId: m.assign.executionId!, watchRmeta: m.assign.watchRmeta ?? '', rmetaSent: false });
    if (m.cancel) this.runs.delete(m.cancel.executionId!);
  };
}

/** Actions the walk draws from: fused pairs (metadata + rlib of one crate), plain actions, a slow one that times out. */
function actionPool(): { name: string; over: Partial<ExecutionRequest> }[] {
  const pool: { name: string; over: Partial<ExecutionRequest> }[] = [];
  for (let c = 0; c < 6; c++) {
    for (const kind of ['rustc-metadata', 'rustc-rlib'] as const) {
      const output = `out/lib${c}.${kind === 'rustc-metadata' ? 'rmeta' : 'rlib'}`;
      pool.push({
        name: `${kind}-${c}`,
        over: {
          mnemonic: kind === 'rustc-metadata' ? 'RustcMetadata' : 'Rustc',
          rust: { kind, crateName: `c${c}`, crate: `c${c}`, deps: c > 0 ? [{ crate: `c${c - 1}`, needs: 'rmeta' }] : [], pairKey: `pair-${c}`, rmetaPath: `out/lib${c}.rmeta`, rlibPath: `out/lib${c}.rlib` },
          command: re.Command.create({ arguments: kind === 'rustc-metadata' ? ['pw', '--rustc-quit-on-rmeta', 'true', '--', 'rustc', `@${c}`] : ['pw', '--', 'rustc', `@${c}`], outputFiles: [output] }),
        },
      });
    }
  }
  for (let k = 0; k < 6; k++) pool.push({ name: `genrule-${k}`, over: {} });
  pool.push({ name: 'slow', over: { timeoutMs: 500 } });
  return pool;
}

/**
 * A seeded random walk through the scheduler as the server composes it (fusion, critical path, slot sizing) or through
 * the generic core alone (the rustc actions are then ordinary actions): builds
 * submitting the same and different actions at several priorities, callers cancelling, workers joining, answering
 * (.rmeta reports, successes, failures, late answers), going silent and being lost, time passing past timeouts. Then
 * every run is answered until nothing is left. Whatever the interleaving: every operation completes exactly once,
 * nothing stays queued or running, no worker gets messages after its loss or more work than its slots.
 */
async function walk(seed: number, steps: number, rust: boolean): Promise<Record<string, number>> {
  const r = rng(seed);
  const clock = new FakeClock();
  const options = { heartbeatIntervalMs: 60_000, maxWorkerLosses: 3, retainCompletedMs: 3_600_000, timeoutGraceMs: 100, abandonAfterMs: 0 };
  const s = rust ? composeScheduler(options, { fusion: true, criticalPath: true, sizeAwareSlots: true }, echoSink, silentLogger(), clock).scheduler : new Scheduler({ ...options, clock }, echoSink, silentLogger());
  const pool = actionPool();
  const workers: Worker[] = [];
  const ops: Operation[] = [];
  const completions = new Map<Operation, number>();
  let cancelled = 0;
  let round = 0;
  const settle = () => new Promise((done) => setImmediate(done));
  const addWorker = () => {
    const w = new Worker(1 + r.int(4));
    w.id = s.registerWorker({ workerName: `w${workers.length}`, slots: w.slots }, w);
    workers.push(w);
  };
  const live = () => workers.filter((w) => !w.lost);
  const answer = async (w: Worker, run: Run, ok: boolean) => {
    w.runs.delete(run.executionId);
    await s.finished(w.id, { executionId: run.executionId, status: { code: 0 }, result: { exitCode: ok ? 0 : 1 }, cpuSeconds: 1 });
  };
  addWorker();

  for (let step = 0; step < steps; step++) {
    const dice = r.next();
    if (dice < 0.35) {
      // A build submits an action (every ~20 steps the builds start over: the same actions again, new digests' round).
      if (step % 20 === 0) round++;
      const a = r.pick(pool);
      const op = s.submit(request(`${a.name}#${round}`, { ...a.over, invocationId: `build-${r.int(3)}`, priority: r.int(3) - 1 }));
      ops.push(op);
      const count = () => completions.set(op, (completions.get(op) ?? 0) + 1);
      if (op.done) count();
      else op.subscribe((o) => o.done && count());
    } else if (dice < 0.45) {
      const op = r.pick(ops);
      if (op && s.cancel(op, 'the walk cancels it')) cancelled++;
    } else if (dice < 0.75) {
      // A worker reports on one of its runs: the .rmeta, a success, a failure, or an answer for a run it no longer has.
      const w = r.pick(live());
      const run = w && r.pick([...w.runs.values()]);
      if (!run) continue;
      const what = r.next();
      if (run.watchRmeta && !run.rmetaSent && what < 0.5) {
        run.rmetaSent = true;
        s.partialResult(w.id, run.executionId, { result: { exitCode: 0, outputFiles: [{ path: run.watchRmeta }] }, cpuSeconds: 0.5 });
      } else if (what < 0.6) s.started(w.id, run.executionId);
      else await answer(w, run, what < 0.9);
    } else if (dice < 0.8) {
      await s.finished(r.pick(workers).id, { executionId: `not-a-run-${step}`, status: { code: 0 }, result: { exitCode: 0 } });
    } else if (dice < 0.85 && live().length > 1) {
      const w = r.pick(live());
      w.lost = true;
      s.workerLost(w.id, 'the walk stops it');
    } else if (dice < 0.9) {
      addWorker();
    } else {
      clock.advance(r.int(700));
    }
    await settle();
    for (const w of live()) {
      const used = [...w.runs.keys()].length;
      assert.ok(used <= w.slots, `seed ${seed} step ${step}: worker ${w.id} runs ${used} tasks on ${w.slots} slots`);
    }
  }

  // Every run answered (successfully) until nothing is left; time passes so timed-out runs are given up too.
  if (live().length === 0) addWorker();
  for (let guard = 0; guard < 10_000; guard++) {
    const busy = live().find((w) => w.runs.size > 0);
    if (!busy) {
      if (s.queuedCount === 0) break;
      addWorker();
      continue;
    }
    await answer(busy, [...busy.runs.values()][0], true);
    await settle();
  }
  await settle();

  for (const op of ops) assert.equal(completions.get(op), 1, `seed ${seed}: ${op.operationName} completed ${completions.get(op) ?? 0} times (stage ${op.stage})`);
  const snap = s.snapshot();
  assert.equal(s.queuedCount, 0, `seed ${seed}: tasks still queued`);
  assert.deepEqual(snap.running, [], `seed ${seed}: tasks still running`);
  assert.equal(snap.liveOperations, 0, `seed ${seed}: live operations left`);
  for (const w of snap.workers) assert.equal(w.busySlots, 0, `seed ${seed}: worker ${w.id} still holds slots`);
  assert.equal(workers.reduce((n, w) => n + w.sentAfterLoss, 0), 0, `seed ${seed}: messages sent to lost workers`);
  s.close();
  const codes = (code: number) => ops.filter((o) => (o.response?.status?.code ?? 0) === code).length;
  return {
    ops: ops.length,
    cancelled,
    merged: ops.length - new Set(ops.map((o) => o.taskId)).size,
    timedOut: codes(4),
    failedRuns: ops.filter((o) => o.response?.result?.exitCode === 1).length,
    lost: workers.filter((w) => w.lost).length,
  };
}

describe('Scheduler invariants under a random walk (cancels, worker losses, timeouts, merged callers)', () => {
  for (const [name, rust] of [['as the server composes it (fusion, critical path, slot sizing)', true], ['the generic core alone (no policy installed)', false]] as const) {
    it(`${name}: completes every operation exactly once and leaves nothing queued, running or charged, over 150 seeds`, async () => {
      const total: Record<string, number> = {};
      for (let seed = 1; seed <= 150; seed++) for (const [k, v] of Object.entries(await walk(seed, 400, rust))) total[k] = (total[k] ?? 0) + v;
      // The walk exercised what it is for (not a walk that only submits).
      for (const k of ['cancelled', 'merged', 'timedOut', 'failedRuns', 'lost']) assert.ok(total[k] >= 20, `${k}: ${JSON.stringify(total)}`);
    });
  }
});
