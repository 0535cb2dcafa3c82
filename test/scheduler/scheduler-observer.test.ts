import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { composeScheduler } from '../../src/cmd/compose-scheduler';
import { silentLogger } from '../../src/logging/logger';
import { Scheduler } from '../../src/scheduler/scheduler';
import { SchedulerEvent } from '../../src/scheduler/scheduler-observer';
import { toTimestamp } from '../../src/util/proto-time';
import { FakeClock } from '../helpers/fake-clock';
import { echoSink, FakeWorker, request } from './scheduler-fakes';

const schedulers: Scheduler[] = [];
after(() => schedulers.forEach((s) => s.close()));

/** The scheduler as composed for the server, observed through the insight metrics and the dashboard get. */
function observed() {
  const clock = new FakeClock();
  const { scheduler: s, insight } = composeScheduler({ heartbeatIntervalMs: 60_000, maxWorkerLosses: 3, retainCompletedMs: 60_000, timeoutGraceMs: 10 }, { fusion: true, criticalPath: true, sizeAwareSlots: true }, echoSink, silentLogger(), clock);
  schedulers.push(s);
  const events: SchedulerEvent[] = [];
  insight.observe((e) => events.push(e));
  return { s, insight, events, types: () => events.map((e) => e.type), advance: (ms: number) => clock.advance(ms) };
}

const ts = (ms: number) => toTimestamp(ms);

describe('Scheduler observers and snapshots', () => {
  it('narrates one action from Execute to completion, with queue wait and the worker-side timings', async () => {
    const { s, insight, events, types, advance } = observed();
    const e = s.submit(request('compile', { invocationId: 'build-1', mnemonic: 'Rustc', rust: { kind: 'rustc-rlib', crateName: 'regex' } }));
    advance(250);
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w1', slots: 2 }, w);
    s.started(id, e.taskId);
    const result = {
      exitCode: 0,
      executionMetadata: {
        worker: 'w1',
        workerStartTimestamp: ts(10_000),
        inputFetchStartTimestamp: ts(10_000),
        inputFetchCompletedTimestamp: ts(10_040),
        executionStartTimestamp: ts(10_040),
        executionCompletedTimestamp: ts(11_040),
        outputUploadStartTimestamp: ts(11_040),
        outputUploadCompletedTimestamp: ts(11_060),
        workerCompletedTimestamp: ts(11_060),
      },
    };
    await s.finished(id, { executionId: e.taskId, status: { code: 0 }, result, cpuSeconds: 1.5 });

    assert.deepEqual(types().filter((t) => t !== 'build-updated'), ['operation-created', 'task-queued', 'worker-registered', 'task-started', 'task-executing', 'operation-completed', 'task-completed']);
    const created = events.find((x) => x.type === 'operation-created')!;
    assert.ok(created.type === 'operation-created' && !created.merged && created.operation.invocationId === 'build-1' && created.operation.name === e.operationName);
    const started = events.find((x) => x.type === 'task-started')!;
    assert.ok(started.type === 'task-started');
    assert.equal(started.queueWaitMs, 250);
    assert.equal(started.worker.name, 'w1');
    assert.deepEqual([started.task.actionClass, started.task.labels], ['rust-rlib', { crate: 'regex', phase: 'rlib' }]);
    const done = events.find((x) => x.type === 'task-completed')!;
    assert.ok(done.type === 'task-completed');
    assert.deepEqual(done.outcome.timings, {
      queueWaitMs: 250,
      inputFetchMs: 40,
      executionMs: 1000,
      outputUploadMs: 20,
      workerTotalMs: 1060,
      // The same phases on the worker's clock (the dashboard's timeline).
      workerStartAtMs: 10000,
      inputFetchStartAtMs: 10000,
      inputFetchEndAtMs: 10040,
      executionStartAtMs: 10040,
      executionEndAtMs: 11040,
      outputUploadStartAtMs: 11040,
      outputUploadEndAtMs: 11060,
    });
    assert.deepEqual([done.outcome.code, done.outcome.exitCode, done.outcome.workerName, done.outcome.cpuSeconds, done.outcome.cancelled], [0, 0, 'w1', 1.5, false]);
    const build = insight.builds().find((b) => b.invocationId === 'build-1')!;
    assert.deepEqual([build.actions, build.executed, build.cached, build.inFlight, build.rustcRuns, build.rustcCpuSeconds], [1, 1, 0, 0, 1, 1.5]);
  });

  it('reports a merged caller, cache hits per build, and a lost worker with the task requeued', () => {
    const { s, insight, events } = observed();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w1', slots: 1 }, w);
    s.submit(request('x', { invocationId: 'A' }));
    s.submit(request('x', { invocationId: 'B' }));
    s.cacheHit({ invocationId: 'B', instanceName: '', actionDigest: 'ab/1', mnemonic: 'Genrule' });
    s.workerLost(id, 'killed');
    const merged = events.filter((e) => e.type === 'operation-created').map((e) => e.type === 'operation-created' && [e.operation.invocationId, e.merged]);
    assert.deepEqual(merged, [['A', false], ['B', true]]);
    assert.ok(events.some((e) => e.type === 'cache-hit' && e.invocationId === 'B' && e.actionDigest === 'ab/1'));
    const lost = events.find((e) => e.type === 'worker-lost')!;
    assert.ok(lost.type === 'worker-lost' && lost.requeued === 1 && lost.reason === 'killed');
    const requeued = events.filter((e) => e.type === 'task-queued').map((e) => e.type === 'task-queued' && e.attempt);
    assert.deepEqual(requeued, [1, 2]);
    const b = insight.builds().find((x) => x.invocationId === 'B')!;
    assert.deepEqual([b.actions, b.cached], [2, 1]);
  });

  it('snapshots queue depth by platform and class, running tasks with their worker, and workers with busy slots', () => {
    const { s, advance } = observed();
    const linux = [{ name: 'OSFamily', value: 'Linux' }];
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w1', slots: 1, properties: linux }, w);
    s.submit(request('m1', { platform: linux, rust: { kind: 'rustc-metadata', crateName: 'a' } }));
    s.submit(request('m2', { platform: linux, rust: { kind: 'rustc-metadata', crateName: 'b' } }));
    s.submit(request('g1', { platform: linux }));
    advance(1000);
    const snap = s.snapshot();
    assert.equal(snap.atMs - snap.running[0].startedAtMs, 1000, 'elapsed time of the running action');
    assert.equal(snap.running[0].workerName, 'w1');
    assert.deepEqual(
      [...snap.queued].sort((a, b) => a.actionClass.localeCompare(b.actionClass)),
      [
        { platformKey: 'OSFamily=Linux', actionClass: 'other', count: 1 },
        { platformKey: 'OSFamily=Linux', actionClass: 'rust-metadata', count: 1 },
      ],
    );
    assert.deepEqual(snap.workers.map((x) => [x.name, x.slots, x.busySlots]), [['w1', 1, 1]]);
    assert.equal(snap.liveOperations, 3);
    // A queued action two builds asked for is one task (one entry in each build's queue): counted once.
    s.submit(request('m2', { platform: linux, invocationId: 'other-build', rust: { kind: 'rustc-metadata', crateName: 'b' } }));
    assert.deepEqual(s.snapshot().queued.find((q) => q.actionClass === 'rust-metadata')?.count, 1);
    assert.equal(s.snapshot().liveOperations, 4);
  });

  it('keeps scheduling when an observer throws', () => {
    const { s } = observed();
    s.observe(() => {
      throw new Error('broken observer');
    });
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w1', slots: 1 }, w);
    s.submit(request('still-runs'));
    assert.deepEqual(w.assigned, ['still-runs']);
  });

  it('stops delivering to an observer that unsubscribed', () => {
    const { s } = observed();
    const seen: string[] = [];
    const stop = s.observe((e) => seen.push(e.type));
    s.submit(request('one'));
    stop();
    s.submit(request('two'));
    assert.deepEqual(seen.filter((t) => t === 'operation-created').length, 1);
  });
});
