import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { BuildHistory } from '../../src/dashboard/build-history';
import type { BuildRecord } from '../../src/dashboard/build-record';
import { BuildRecorder } from '../../src/dashboard/build-recorder';
import { buildSummary } from '../../src/dashboard/build-view';
import { re } from '../../src/proto';
import type { SchedulerEvent, TaskInfo, WorkerInfo } from '../../src/scheduler/scheduler-observer';
import type { ExecutionRequest } from '../../src/scheduler/execution';

const WORKER: WorkerInfo = { id: 'w1-a', name: 'a', platform: '', slots: 2, busySlots: 1, runningTasks: 1, registeredAtMs: 0, lastSeenMs: 0 };

function task(id: string, o: Partial<TaskInfo> = {}): TaskInfo {
  return { id, instanceName: '', actionDigest: '', actionClass: 'other', labels: {}, platformKey: '', priority: 0, invocationIds: ['inv-1'], operations: 1, queuedAtMs: 1000, internal: false, ...o };
}

function request(kind: 'rustc-metadata' | 'rustc-rlib', digest: Digest): ExecutionRequest {
  const argv = ['process_wrapper', ...(kind === 'rustc-metadata' ? ['--rustc-quit-on-rmeta', 'true'] : []), '--', 'rustc', '@params'];
  const ext = kind === 'rustc-metadata' ? 'rmeta' : 'rlib';
  return {
    instanceName: '',
    digestFunction: SHA256,
    actionDigest: digest,
    action: re.Action.create(),
    command: re.Command.create({ arguments: argv, outputFiles: [`out/libfoo-1.${ext}`] }),
    platform: [{ name: 'OSFamily', value: 'Linux' }],
    priority: 0,
    invocationId: 'inv-1',
    timeoutMs: 1000,
    mnemonic: kind === 'rustc-metadata' ? 'RustcMetadata' : 'Rustc',
    rust: { kind, crateName: 'foo', crate: 'out/libfoo-1', deps: [{ crate: 'out/libbar-2', needs: 'rmeta' }] },
  };
}

const completed = (t: TaskInfo, atMs: number, outcome: Partial<Extract<SchedulerEvent, { type: 'task-completed' }>['outcome']> = {}): SchedulerEvent => ({
  type: 'task-completed',
  atMs,
  task: t,
  outcome: { code: 0, cancelled: false, timings: {}, ...outcome },
});

describe('BuildRecorder', () => {
  it('records a fused pair as one run on a worker that learns its crate, command and .rmeta time from the actions it answered', async () => {
    const finished: BuildRecord[] = [];
    const history = new BuildHistory({ maxBuilds: 5, maxActionsPerBuild: 100, idleMs: 5, onFinished: (b) => finished.push(b) });
    const rec = new BuildRecorder(history);
    const md = Digest.compute(Buffer.from('metadata action'), SHA256);
    const rl = Digest.compute(Buffer.from('rlib action'), SHA256);
    const meta = { toolDetails: { toolName: 'bazel', toolVersion: '4.2.3' }, targetId: '//lib:foo', toolInvocationId: 'inv-1' } as never;

    const carrier = task('run-1', { internal: true, operations: 0, labels: { crate: 'foo', phase: 'fused' }, actionClass: 'rust-rlib' });
    const metaTask = task('op-md', { actionDigest: md.toString(), mnemonic: 'RustcMetadata', labels: { crate: 'foo', phase: 'metadata' } });
    const rlibTask = task('op-rl', { actionDigest: rl.toString(), mnemonic: 'Rustc', labels: { crate: 'foo', phase: 'rlib' } });
    rec.onSubmit({ request: request('rustc-metadata', md), metadata: meta, inputFiles: 3, inputBytes: 3000 });
    rec.onEvent({ type: 'task-queued', atMs: 1000, task: carrier, attempt: 1 });
    rec.onEvent({ type: 'operation-created', atMs: 1000, operation: { name: 'operations/op-md', taskId: 'op-md', invocationId: 'inv-1', priority: 0, createdAtMs: 1000 }, task: metaTask, merged: false });
    rec.onEvent({ type: 'task-started', atMs: 1010, task: carrier, worker: WORKER, slots: 1, queueWaitMs: 10 });
    rec.onSubmit({ request: request('rustc-rlib', rl), metadata: meta, inputFiles: 3, inputBytes: 3000 });
    rec.onEvent({ type: 'operation-created', atMs: 1020, operation: { name: 'operations/op-rl', taskId: 'op-rl', invocationId: 'inv-1', priority: 0, createdAtMs: 1020 }, task: rlibTask, merged: false });
    rec.onEvent(completed(metaTask, 1300, { servedBy: 'run-1', timings: { executionStartAtMs: 1100, executionEndAtMs: 1290 } }));
    const timings = { workerStartAtMs: 1011, inputFetchStartAtMs: 1012, inputFetchEndAtMs: 1090, executionStartAtMs: 1100, executionEndAtMs: 1800, outputUploadStartAtMs: 1801, outputUploadEndAtMs: 1850 };
    rec.onEvent(completed(carrier, 1860, { workerName: 'a', cpuSeconds: 0.7, exitCode: 0, timings }));
    rec.onEvent(completed(rlibTask, 1870, { servedBy: 'run-1', exitCode: 0, timings }));
    rec.onEvent({ type: 'build-updated', atMs: 1870, build: { invocationId: 'inv-1', actions: 2, executed: 1, cached: 0, fusedPairs: 1, rustcRuns: 1, rustcCpuSeconds: 0.7, rustcCpuSavedSeconds: 0.2, inFlight: 0, startedAtMs: 1000, lastActivityMs: 1870 } });

    const b = history.get('inv-1')!;
    const run = b.actions.find((a) => a.id === 'run-1')!;
    assert.equal(run.fusion, 'carrier');
    assert.equal(run.worker, 'a');
    assert.equal(run.crate, 'out/libfoo-1');
    assert.equal(run.crateName, 'foo');
    assert.deepEqual(run.deps, [{ crate: 'out/libbar-2', needs: 'rmeta' }]);
    assert.deepEqual(run.argv, ['process_wrapper', '--', 'rustc', '@params'], 'the Rustc command, without the quit flag');
    assert.deepEqual(run.outputs, ['out/libfoo-1.rmeta', 'out/libfoo-1.rlib']);
    assert.equal(run.timings.rmetaMs, 1290);
    assert.equal(run.timings.executionEndMs, 1800);
    assert.equal(run.inputBytes, 3000);
    assert.deepEqual(b.workerSlots, { a: 2 });
    for (const id of ['op-md', 'op-rl']) {
      const a = b.actions.find((x) => x.id === id)!;
      assert.equal(a.fusion, 'served');
      assert.equal(a.carrierId, 'run-1');
      assert.equal(a.targetId, '//lib:foo');
    }
    assert.equal(b.tool, 'bazel 4.2.3');
    assert.deepEqual(b.targets, ['//lib:foo']);
    const s = buildSummary(b);
    assert.deepEqual([s.executed, s.fused, s.rustcRuns, s.running, s.rustcCpuSpentSeconds], [2, 1, 1, 0, 0.7]);

    await new Promise((r) => setTimeout(r, 30));
    assert.equal(finished.length, 1, 'idle after its last action: finished once');
    assert.equal(b.finished, true);
  });

  it('counts cache hits of both kinds and keeps only the last builds, and a bounded number of actions per build', () => {
    const history = new BuildHistory({ maxBuilds: 2, maxActionsPerBuild: 1, idleMs: 1000 });
    const rec = new BuildRecorder(history);
    rec.onCacheHit({ invocationId: 'b1' });
    rec.onEvent({ type: 'cache-hit', atMs: 5, invocationId: 'b1', instanceName: '', actionDigest: 'x/1' });
    assert.equal(history.get('b1')!.cacheHits, 2);
    rec.onEvent({ type: 'task-queued', atMs: 1, task: task('t1', { invocationIds: ['b2'] }), attempt: 1 });
    rec.onEvent({ type: 'task-queued', atMs: 1, task: task('t2', { invocationIds: ['b2'] }), attempt: 1 });
    assert.equal(history.get('b2')!.actions.length, 1);
    assert.equal(history.droppedActions('b2'), 1);
    rec.onCacheHit({ invocationId: 'b3' });
    assert.deepEqual(
      history.list().map((b) => b.invocationId),
      ['b3', 'b2'],
      'newest first; b1 forgotten',
    );
    history.close();
  });
});
