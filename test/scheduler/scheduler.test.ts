import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Code } from '../../src/grpc/status-error';
import { silentLogger } from '../../src/logging/logger';
import { re, REv2 } from '../../src/proto';
import { Scheduler } from '../../src/scheduler/scheduler';
import { toTimestamp } from '../../src/util/proto-time';
import { echoSink, FakeWorker, request } from './scheduler-fakes';

const sink = echoSink;
const schedulers: Scheduler[] = [];
function newScheduler(): Scheduler {
  const s = new Scheduler({ heartbeatIntervalMs: 60_000, maxWorkerLosses: 3, retainCompletedMs: 60_000, timeoutGraceMs: 10 }, sink, silentLogger());
  schedulers.push(s);
  return s;
}
after(() => schedulers.forEach((s) => s.close()));

describe('Scheduler', () => {
  it('merges identical in-flight actions into one execution that every caller shares', () => {
    const s = newScheduler();
    const a = s.submit(request('same'));
    const b = s.submit(request('same'));
    assert.equal(a, b);
    assert.equal(s.queuedCount, 1);
  });

  it('sends the assignment to a registered worker and reports stages QUEUED → EXECUTING → COMPLETED', async () => {
    const s = newScheduler();
    const e = s.submit(request('one'));
    const stages: string[] = [e.stage];
    e.subscribe((x) => stages.push(x.stage));
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.ok(w.messages[0].registered, 'registration is acknowledged first');
    assert.deepEqual(w.assigned, ['one']);
    s.started(id, e.id);
    await s.finished(id, { executionId: e.id, status: { code: 0 }, result: { exitCode: 0 } });
    assert.deepEqual(stages, ['QUEUED', 'EXECUTING', 'COMPLETED']);
    assert.equal(e.response?.result?.exitCode, 0);
  });

  it('runs lower priority values first, then the invocation with fewer running actions, then arrival order', () => {
    const s = newScheduler();
    s.submit(request('a1', { invocationId: 'A' }));
    s.submit(request('a2', { invocationId: 'A' }));
    s.submit(request('b1', { invocationId: 'B' }));
    s.submit(request('urgent', { invocationId: 'A', priority: -5 }));
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 3 }, w);
    // urgent first; then A has one running, so B's action goes before a1.
    assert.deepEqual(w.assigned, ['urgent', 'b1', 'a1']);
  });

  it('dispatches only to workers whose platform satisfies the action', () => {
    const s = newScheduler();
    const gpuWorker = new FakeWorker();
    const plainWorker = new FakeWorker();
    s.registerWorker({ workerName: 'plain', slots: 1, properties: [{ name: 'OSFamily', value: 'Linux' }] }, plainWorker);
    s.registerWorker({ workerName: 'gpu', slots: 1, properties: [{ name: 'OSFamily', value: 'Linux' }, { name: 'gpu', value: '1' }] }, gpuWorker);
    s.submit(request('needs-gpu', { platform: [{ name: 'gpu', value: '1' }] }));
    assert.deepEqual(plainWorker.assigned, []);
    assert.deepEqual(gpuWorker.assigned, ['needs-gpu']);
  });

  it('fails an action no registered worker could ever run with FAILED_PRECONDITION naming the property', () => {
    const s = newScheduler();
    s.registerWorker({ workerName: 'w', slots: 1, properties: [{ name: 'OSFamily', value: 'Linux' }] }, new FakeWorker());
    const e = s.submit(request('windows', { platform: [{ name: 'OSFamily', value: 'Windows' }] }));
    assert.equal(e.done, true);
    assert.equal(e.response?.status?.code, Code.FAILED_PRECONDITION);
    assert.match(e.response!.status!.message!, /OSFamily=Windows/);
  });

  it('requeues the actions of a lost worker and gives up with UNAVAILABLE after three losses', () => {
    const s = newScheduler();
    const e = s.submit(request('flaky'));
    for (let attempt = 1; attempt <= 3; attempt++) {
      const w = new FakeWorker();
      const id = s.registerWorker({ workerName: `w${attempt}`, slots: 1 }, w);
      assert.deepEqual(w.assigned, ['flaky'], `attempt ${attempt} is dispatched`);
      s.workerLost(id, 'killed');
    }
    assert.equal(e.done, true);
    assert.equal(e.response?.status?.code, Code.UNAVAILABLE);
  });

  it('completes with DEADLINE_EXCEEDED and cancels on the worker when no answer comes within the timeout', async () => {
    const s = newScheduler();
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const e = s.submit(request('hangs', { timeoutMs: 20 }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(e.response?.status?.code, Code.DEADLINE_EXCEEDED);
    assert.ok(w.messages.some((m) => m.cancel?.executionId === e.id));
  });

  it('sends the input Directories with the assignment and lets go of them once the action completed', async () => {
    const s = newScheduler();
    const dirs = [Buffer.from('encoded Directory')];
    const e = s.submit(request('with-tree', { inputDirectories: dirs }));
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const sent = w.messages.find((m) => m.assign)!.assign!;
    assert.deepEqual(sent.inputDirectories!.map((b) => Buffer.from(b).toString()), ['encoded Directory']);
    await s.finished(id, { executionId: e.id, status: { code: 0 }, result: { exitCode: 0 } });
    assert.equal(e.request.inputDirectories, undefined);
  });

  it('keeps completed operations visible by name for WaitExecution', async () => {
    const s = newScheduler();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const e = s.submit(request('x'));
    await s.finished(id, { executionId: e.id, status: { code: 0 }, result: { exitCode: 3 } as REv2.IActionResult });
    assert.equal(s.operation(e.operationName), e);
    assert.equal(s.operation('operations/nope'), undefined);
  });
});

describe('Scheduler with Rust awareness', () => {
  it('starts a queued metadata action before an earlier-queued rlib action when a slot frees up', async () => {
    const s = newScheduler();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const blocker = s.submit(request('blocker'));
    s.submit(request('rlib', { rust: { kind: 'rustc-rlib', crateName: 'a' } }));
    s.submit(request('other'));
    s.submit(request('metadata', { rust: { kind: 'rustc-metadata', crateName: 'b' } }));
    assert.deepEqual(w.assigned, ['blocker']);
    await s.finished(id, { executionId: blocker.id, status: { code: 0 }, result: { exitCode: 0 } });
    assert.deepEqual(w.assigned, ['blocker', 'metadata'], 'the metadata action jumps the queue');
    await s.finished(id, { executionId: w.executionId('metadata'), status: { code: 0 }, result: { exitCode: 0 } });
    assert.deepEqual(w.assigned, ['blocker', 'metadata', 'rlib'], 'then arrival order');
  });

  it('learns the crate graph and durations from one build and starts the head of the longest chain first in the next', async () => {
    const s = newScheduler();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    // chain: a ← b ← c (each needs the previous .rmeta; 300 ms each); big: 700 ms on its own, nobody depends on it.
    const meta = (name: string, crate: string, dep?: string, build = 1) =>
      request(`${name}#${build}`, { rust: { kind: 'rustc-metadata', crateName: crate, crate, deps: dep ? [{ crate: dep, needs: 'rmeta' }] : [] } });
    const took = (ms: number) => ({ exitCode: 0, executionMetadata: { executionStartTimestamp: toTimestamp(1_000), executionCompletedTimestamp: toTimestamp(1_000 + ms) } });
    for (const [name, crate, dep, ms] of [['big', 'big', undefined, 700], ['a', 'a', undefined, 300], ['b', 'b', 'a', 300], ['c', 'c', 'b', 300]] as const) {
      const e = s.submit(meta(name, crate, dep));
      await s.finished(id, { executionId: e.id, status: { code: 0 }, result: took(ms) });
    }
    assert.equal(s.criticalPath.remainingMs('a'), 900);
    assert.equal(s.criticalPath.remainingMs('big'), 700);
    // Next build: a slot is busy while `big` and then `a` arrive.
    const blocker = s.submit(request('blocker'));
    s.submit(meta('big', 'big', undefined, 2));
    s.submit(meta('a', 'a', undefined, 2));
    await s.finished(id, { executionId: blocker.id, status: { code: 0 }, result: { exitCode: 0 } });
    assert.deepEqual(w.assigned.slice(-2), ['blocker', 'a#2'], 'the chain head goes before the slower crate that arrived first');
  });

  it('keeps priority and fairness above the metadata-first rule', () => {
    const s = newScheduler();
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
    const s = new Scheduler({ heartbeatIntervalMs: 60_000, maxWorkerLosses: 3, retainCompletedMs: 60_000, timeoutGraceMs: 10, rustFusion: true }, sink, silentLogger());
    schedulers.push(s);
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

    s.rmetaReady(id, { executionId: run.executionId, result: { exitCode: 0, outputFiles: [{ path: 'out/libc-1.rmeta' }] }, cpuSeconds: 1 });
    await new Promise((r) => setImmediate(r));
    assert.equal(meta.done, true, 'the metadata action completes at the .rmeta');
    assert.deepEqual(files(meta.response), ['out/libc-1.rmeta']);
    assert.equal(rlib.done, false);

    await s.finished(id, { executionId: run.executionId, status: { code: 0 }, result: { exitCode: 1, outputFiles: [{ path: 'out/libc-1.rmeta' }] }, cpuSeconds: 3 });
    assert.equal(rlib.response?.result?.exitCode, 1, 'the late error fails the Rustc action');
    assert.equal(meta.response?.result?.exitCode, 0, 'but not the metadata action');
    assert.deepEqual(files(rlib.response), [], 'only declared outputs (the .rlib was not produced)');
    const b = s.accounting.snapshot('inv')!;
    assert.deepEqual([b.rustcActions, b.fusedPairs, b.rustcCpuSpent, b.rustcCpuSaved], [1, 1, 3, 1]);
  });

  it('requeues the fused run when its worker is lost, and both actions still complete', async () => {
    const s = new Scheduler({ heartbeatIntervalMs: 60_000, maxWorkerLosses: 3, retainCompletedMs: 60_000, timeoutGraceMs: 10, rustFusion: true }, sink, silentLogger());
    schedulers.push(s);
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
