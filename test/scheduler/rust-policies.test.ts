import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { composeScheduler, ComposedScheduler, RustPolicies } from '../../src/cmd/compose-scheduler';
import { silentLogger } from '../../src/logging/logger';
import { re, REv2 } from '../../src/proto';
import { Scheduler } from '../../src/scheduler/scheduler';
import { toTimestamp } from '../../src/util/proto-time';
import { FakeClock } from '../helpers/fake-clock';
import { echoSink, FakeWorker, request } from './scheduler-fakes';

// The scheduler as src/cmd composes it: the generic core plus the Rust policies.
const composed: ComposedScheduler[] = [];
function rustScheduler(rust: Partial<RustPolicies> = {}): ComposedScheduler & { s: Scheduler } {
  const c = composeScheduler(
    { heartbeatIntervalMs: 60_000, maxWorkerLosses: 3, retainCompletedMs: 60_000, timeoutGraceMs: 10 },
    { fusion: false, criticalPath: true, sizeAwareSlots: false, ...rust },
    echoSink,
    silentLogger(),
    new FakeClock(),
  );
  composed.push(c);
  return { ...c, s: c.scheduler };
}
after(() => composed.forEach((c) => c.scheduler.close()));

describe('Scheduler with Rust awareness', () => {
  it('starts a queued metadata action before an earlier-queued rlib action when a slot frees up', async () => {
    const { s } = rustScheduler();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const blocker = s.submit(request('blocker'));
    s.submit(request('rlib', { rust: { kind: 'rustc-rlib', crateName: 'a' } }));
    s.submit(request('other'));
    s.submit(request('metadata', { rust: { kind: 'rustc-metadata', crateName: 'b' } }));
    assert.deepEqual(w.assigned, ['blocker']);
    await s.finished(id, { executionId: blocker.taskId, status: { code: 0 }, result: { exitCode: 0 } });
    assert.deepEqual(w.assigned, ['blocker', 'metadata'], 'the metadata action jumps the queue');
    await s.finished(id, { executionId: w.executionId('metadata'), status: { code: 0 }, result: { exitCode: 0 } });
    assert.deepEqual(w.assigned, ['blocker', 'metadata', 'rlib'], 'then arrival order');
  });

  it('learns the crate graph and durations from one build and starts the head of the longest chain first in the next', async () => {
    const { s, criticalPath } = rustScheduler();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    // chain: a ← b ← c (each needs the previous .rmeta; 300 ms each); big: 700 ms on its own, nobody depends on it.
    const meta = (name: string, crate: string, dep?: string, build = 1) =>
      request(`${name}#${build}`, { rust: { kind: 'rustc-metadata', crateName: crate, crate, deps: dep ? [{ crate: dep, needs: 'rmeta' }] : [] } });
    const took = (ms: number) => ({ exitCode: 0, executionMetadata: { executionStartTimestamp: toTimestamp(1_000), executionCompletedTimestamp: toTimestamp(1_000 + ms) } });
    for (const [name, crate, dep, ms] of [['big', 'big', undefined, 700], ['a', 'a', undefined, 300], ['b', 'b', 'a', 300], ['c', 'c', 'b', 300]] as const) {
      const e = s.submit(meta(name, crate, dep));
      await s.finished(id, { executionId: e.taskId, status: { code: 0 }, result: took(ms) });
    }
    assert.equal(criticalPath.remainingMs('a'), 900);
    assert.equal(criticalPath.remainingMs('big'), 700);
    // Next build: a slot is busy while `big` and then `a` arrive.
    const blocker = s.submit(request('blocker'));
    s.submit(meta('big', 'big', undefined, 2));
    s.submit(meta('a', 'a', undefined, 2));
    await s.finished(id, { executionId: blocker.taskId, status: { code: 0 }, result: { exitCode: 0 } });
    assert.deepEqual(w.assigned.slice(-2), ['blocker', 'a#2'], 'the chain head goes before the slower crate that arrived first');
  });

  it('keeps priority and fairness above the metadata-first rule', () => {
    const { s } = rustScheduler();
    s.submit(request('urgent-rlib', { priority: -1, rust: { kind: 'rustc-rlib' } }));
    s.submit(request('metadata', { rust: { kind: 'rustc-metadata' } }));
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.deepEqual(w.assigned, ['urgent-rlib']);
  });
});

describe('Scheduler fusing a RustcMetadata/Rustc pair', () => {
  const rust = (kind: 'rustc-metadata' | 'rustc-rlib') => ({ kind, crateName: 'c', pairKey: 'pair-1', rmetaPath: 'out/libc-1.rmeta', rlibPath: 'out/libc-1.rlib' });
  const pairRequest = (kind: 'rustc-metadata' | 'rustc-rlib') =>
    request(kind, {
      rust: rust(kind),
      command: re.Command.create({ arguments: kind === 'rustc-metadata' ? ['pw', '--rustc-quit-on-rmeta', 'true', '--', 'rustc', '@m'] : ['pw', '--', 'rustc', '@r'], outputFiles: [kind === 'rustc-metadata' ? 'out/libc-1.rmeta' : 'out/libc-1.rlib'] }),
    });
  const files = (r: REv2.IExecuteResponse | undefined) => (r?.result?.outputFiles ?? []).map((f) => f.path);

  it('runs one full rustc for both, answers the metadata action at the .rmeta, and an error after it fails only Rustc', async () => {
    const { s, accounting } = rustScheduler({ fusion: true });
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 2 }, w);
    const rlib = s.submit(pairRequest('rustc-rlib'));
    const meta = s.submit(pairRequest('rustc-metadata'));
    const assigns = w.messages.filter((m) => m.assign).map((m) => m.assign!);
    assert.equal(assigns.length, 1, 'one run for the pair');
    const run = assigns[0];
    assert.equal(run.watchRmeta, 'out/libc-1.rmeta');
    assert.ok(!run.command!.arguments!.includes('--rustc-quit-on-rmeta'));
    assert.deepEqual([...run.command!.outputFiles!].sort(), ['out/libc-1.rlib', 'out/libc-1.rmeta']);

    s.partialResult(id, run.executionId!, { result: { exitCode: 0, outputFiles: [{ path: 'out/libc-1.rmeta' }] }, cpuSeconds: 1 });
    await new Promise((r) => setImmediate(r));
    assert.equal(meta.done, true, 'the metadata action completes at the .rmeta');
    assert.deepEqual(files(meta.response), ['out/libc-1.rmeta']);
    assert.equal(rlib.done, false);

    await s.finished(id, { executionId: run.executionId, status: { code: 0 }, result: { exitCode: 1, outputFiles: [{ path: 'out/libc-1.rmeta' }] }, cpuSeconds: 3 });
    assert.equal(rlib.response?.result?.exitCode, 1, 'the late error fails the Rustc action');
    assert.equal(meta.response?.result?.exitCode, 0, 'but not the metadata action');
    assert.deepEqual(files(rlib.response), [], 'only declared outputs (the .rlib was not produced)');
    const b = accounting.snapshot('inv')!;
    assert.deepEqual([b.rustcRuns, b.fusedPairs, b.rustcCpuSeconds, b.rustcCpuSavedSeconds], [1, 1, 3, 1]);
  });

  it('requeues the fused run when its worker is lost, and both actions still complete', async () => {
    const { s } = rustScheduler({ fusion: true });
    const meta = s.submit(pairRequest('rustc-metadata'));
    const rlib = s.submit(pairRequest('rustc-rlib'));
    const w1 = new FakeWorker();
    const id1 = s.registerWorker({ workerName: 'w1', slots: 1 }, w1);
    s.workerLost(id1, 'killed');
    const w2 = new FakeWorker();
    const id2 = s.registerWorker({ workerName: 'w2', slots: 1 }, w2);
    const run = w2.messages.find((m) => m.assign)!.assign!;
    await s.finished(id2, { executionId: run.executionId, status: { code: 0 }, result: { exitCode: 0, outputFiles: [{ path: 'out/libc-1.rmeta' }, { path: 'out/libc-1.rlib' }] } });
    assert.deepEqual([files(meta.response), files(rlib.response)], [['out/libc-1.rmeta'], ['out/libc-1.rlib']]);
  });
});
