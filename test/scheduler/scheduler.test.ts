import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Code } from '../../src/grpc/status-error';
import { silentLogger } from '../../src/logging/logger';
import { REv2 } from '../../src/proto';
import { Scheduler, SchedulerOptions } from '../../src/scheduler/scheduler';
import { SchedulerPolicy } from '../../src/scheduler/scheduler-policy';
import { FakeClock } from '../helpers/fake-clock';
import { echoSink, FakeWorker, request } from './scheduler-fakes';

// The generic core, with no policy installed: nothing here knows about Rust.
const schedulers: Scheduler[] = [];
function newScheduler(over: Partial<SchedulerOptions> = {}): Scheduler {
  const s = new Scheduler({ heartbeatIntervalMs: 60_000, maxWorkerLosses: 3, retainCompletedMs: 60_000, timeoutGraceMs: 10, ...over }, echoSink, silentLogger());
  schedulers.push(s);
  return s;
}
after(() => schedulers.forEach((s) => s.close()));

const ok = (taskId: string) => ({ executionId: taskId, status: { code: 0 }, result: { exitCode: 0 } });

describe('Scheduler', () => {
  it('sends the assignment to a registered worker and reports stages QUEUED → EXECUTING → COMPLETED', async () => {
    const s = newScheduler();
    const e = s.submit(request('one'));
    const stages: string[] = [e.stage];
    e.subscribe((x) => stages.push(x.stage));
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.ok(w.messages[0].registered, 'registration is acknowledged first');
    assert.deepEqual(w.assigned, ['one']);
    s.started(id, e.taskId);
    await s.finished(id, ok(e.taskId));
    assert.deepEqual(stages, ['QUEUED', 'EXECUTING', 'COMPLETED']);
    assert.equal(e.response?.result?.exitCode, 0);
  });

  it('runs lower priority values first, then the invocation with fewer busy slots, then arrival order', () => {
    const s = newScheduler();
    s.submit(request('a1', { invocationId: 'A' }));
    s.submit(request('a2', { invocationId: 'A' }));
    s.submit(request('b1', { invocationId: 'B' }));
    s.submit(request('urgent', { invocationId: 'A', priority: -5 }));
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 3 }, w);
    // urgent first; then A holds a slot, so B's action goes before a1.
    assert.deepEqual(w.assigned, ['urgent', 'b1', 'a1']);
  });

  it('keeps a small build progressing while another floods the queue with hundreds of actions', async () => {
    const s = newScheduler();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 4 }, w);
    const flood = Array.from({ length: 300 }, (_, i) => s.submit(request(`link-${i}`, { invocationId: 'lto' })));
    const small = Array.from({ length: 3 }, (_, i) => s.submit(request(`small-${i}`, { invocationId: 'other' })));
    // The flood took every slot first; as slots free up, the other build gets them until both hold an equal share.
    for (const e of flood.slice(0, 3)) await s.finished(id, ok(e.taskId));
    assert.deepEqual(w.assigned.slice(4), ['small-0', 'small-1', 'link-4']);
    await s.finished(id, ok(small[0].taskId));
    assert.deepEqual(w.assigned.slice(7), ['small-2']);
    assert.equal(flood.filter((e) => !e.done).length, 297);
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

  it('lets a worker that matches several platforms take the best work across all of them', async () => {
    const s = newScheduler();
    const linux = [{ name: 'OSFamily', value: 'Linux' }];
    const big = [...linux, { name: 'size', value: 'big' }];
    s.submit(request('plain-late', { platform: linux, priority: 2 }));
    s.submit(request('big-urgent', { platform: big, priority: 1 }));
    s.submit(request('empty-platform', { priority: 3 }));
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1, properties: big }, w);
    assert.deepEqual(w.assigned, ['big-urgent']);
    await s.finished(id, ok(w.executionId('big-urgent')));
    await s.finished(id, ok(w.executionId('plain-late')));
    assert.deepEqual(w.assigned, ['big-urgent', 'plain-late', 'empty-platform']);
  });

  it('fails an action no registered worker could ever run with FAILED_PRECONDITION naming the property', () => {
    const s = newScheduler();
    s.registerWorker({ workerName: 'w', slots: 1, properties: [{ name: 'OSFamily', value: 'Linux' }] }, new FakeWorker());
    const e = s.submit(request('windows', { platform: [{ name: 'OSFamily', value: 'Windows' }] }));
    assert.equal(e.done, true);
    assert.equal(e.response?.status?.code, Code.FAILED_PRECONDITION);
    assert.match(e.response!.status!.message!, /OSFamily=Windows/);
  });

  it('requeues the tasks of a lost worker and gives up with UNAVAILABLE after three losses', () => {
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

  it('declares a worker lost after three missed heartbeats and requeues its task elsewhere', () => {
    const clock = new FakeClock();
    const s = newScheduler({ clock, heartbeatIntervalMs: 1000 });
    const silent = new FakeWorker();
    s.registerWorker({ workerName: 'silent', slots: 1 }, silent);
    const e = s.submit(request('x'));
    const healthy = new FakeWorker();
    const id = s.registerWorker({ workerName: 'healthy', slots: 1 }, healthy);
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      s.heartbeat(id);
    }
    assert.deepEqual(s.workerNames, ['healthy']);
    assert.deepEqual(healthy.assigned, ['x']);
    assert.equal(e.done, false);
  });

  it('completes with DEADLINE_EXCEEDED and cancels on the worker when no answer comes within the timeout', () => {
    const clock = new FakeClock();
    const s = newScheduler({ clock });
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const e = s.submit(request('hangs', { timeoutMs: 20 }));
    clock.advance(29);
    assert.equal(e.done, false, 'the worker gets the timeout plus a grace period');
    clock.advance(1);
    assert.equal(e.response?.status?.code, Code.DEADLINE_EXCEEDED);
    assert.deepEqual(w.cancelled, [e.taskId]);
  });

  it('sends the input Directories with the assignment and lets go of them once the action completed', async () => {
    const s = newScheduler();
    const dirs = [Buffer.from('encoded Directory')];
    const e = s.submit(request('with-tree', { inputDirectories: dirs }));
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const sent = w.messages.find((m) => m.assign)!.assign!;
    assert.deepEqual(sent.inputDirectories!.map((b) => Buffer.from(b).toString()), ['encoded Directory']);
    await s.finished(id, ok(e.taskId));
    assert.equal(e.request.inputDirectories, undefined);
    assert.equal(e.task.request.inputDirectories, undefined);
  });

  it('keeps completed operations visible by name for WaitExecution, then forgets them', async () => {
    const clock = new FakeClock();
    const s = newScheduler({ clock, retainCompletedMs: 10_000 });
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const e = s.submit(request('x'));
    await s.finished(id, { executionId: e.taskId, status: { code: 0 }, result: { exitCode: 3 } as REv2.IActionResult });
    assert.equal(s.operation(e.operationName), e);
    assert.equal(s.operation('operations/nope'), undefined);
    clock.advance(10_000);
    assert.equal(s.operation(e.operationName), undefined);
  });
});

describe('Scheduler: one task, an operation per caller', () => {
  it('gives two builds submitting the same action their own operation, priority and invocation on one task', async () => {
    const s = newScheduler();
    const a = s.submit(request('same', { invocationId: 'A', priority: 5 }));
    const b = s.submit(request('same', { invocationId: 'B', priority: 1 }));
    assert.notEqual(a.operationName, b.operationName);
    assert.equal(a.task, b.task, 'one task runs for both');
    assert.deepEqual([a.request.invocationId, a.request.priority, b.request.invocationId, b.request.priority], ['A', 5, 'B', 1]);
    assert.equal(a.task.priority, 1, 'the task runs at the best priority of its operations');
    assert.equal(s.queuedCount, 1);
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.deepEqual(w.assigned, ['same'], 'one run');
    await s.finished(id, ok(a.taskId));
    assert.deepEqual([a.response?.result?.exitCode, b.response?.result?.exitCode], [0, 0]);
  });

  it('queues a shared task at its best operation: a second caller with a better priority moves it ahead', () => {
    const s = newScheduler();
    s.submit(request('other', { invocationId: 'A', priority: 3 }));
    s.submit(request('shared', { invocationId: 'A', priority: 5 }));
    s.submit(request('shared', { invocationId: 'B', priority: 1 }));
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.deepEqual(w.assigned, ['shared']);
  });

  it('cancels one operation and keeps the task queued and then running for the other', async () => {
    const s = newScheduler();
    const a = s.submit(request('same', { invocationId: 'A', inputDirectories: [Buffer.from('tree')] }));
    const b = s.submit(request('same', { invocationId: 'B' }));
    assert.equal(s.cancel(a, 'build A was interrupted'), true);
    assert.equal(a.response?.status?.code, Code.CANCELLED);
    assert.equal(b.done, false);
    assert.equal(s.queuedCount, 1, 'the task is still queued for B');
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.deepEqual(w.assigned, ['same']);
    assert.equal(w.messages.find((m) => m.assign)!.assign!.inputDirectories!.length, 1, 'the task keeps the tree A sent');
    await s.finished(id, ok(b.taskId));
    assert.equal(b.response?.result?.exitCode, 0);
    assert.equal(a.response?.status?.code, Code.CANCELLED, 'the cancelled operation keeps its own answer');
  });

  it('cancels one operation of a running task: the run goes on for the other caller and its slot stays held', async () => {
    const s = newScheduler();
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 1 }, w);
    const a = s.submit(request('shared-run', { invocationId: 'A', priority: 2 }));
    const b = s.submit(request('shared-run', { invocationId: 'B', priority: 7 }));
    assert.deepEqual(w.assigned, ['shared-run']);
    s.started(id, a.taskId);
    assert.equal(s.cancel(a, 'build A stopped'), true);
    assert.equal(s.cancel(a, 'again'), false, 'an operation is cancelled once');
    assert.equal(a.response?.status?.code, Code.CANCELLED);
    assert.deepEqual(w.cancelled, [], 'the worker is not told to stop');
    assert.equal(b.stage, 'EXECUTING');
    const queued = s.submit(request('waits-for-the-slot', { invocationId: 'C' }));
    assert.deepEqual(w.assigned, ['shared-run'], 'the slot is still held by the run');
    await s.finished(id, ok(b.taskId));
    assert.equal(b.response?.result?.exitCode, 0);
    assert.equal(b.request.priority, 7, 'B keeps its own priority');
    assert.equal(a.response?.status?.code, Code.CANCELLED, 'A keeps its own answer');
    assert.deepEqual(w.assigned, ['shared-run', 'waits-for-the-slot']);
    assert.equal(queued.done, false);
  });

  it('cancels the task when its last operation goes: out of the queue, or stopped on its worker', () => {
    const s = newScheduler();
    const runs = s.submit(request('runs'));
    const waits = s.submit(request('waits'));
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.deepEqual(w.assigned, ['runs']);
    s.cancel(waits, 'not needed');
    assert.equal(s.queuedCount, 0);
    s.cancel(runs, 'not needed');
    assert.deepEqual(w.cancelled, [runs.taskId], 'the worker is told to stop');
    const next = s.submit(request('next'));
    assert.deepEqual(w.assigned, ['runs', 'next'], 'the freed slot takes new work');
    assert.equal(next.done, false);
  });

  it('a new caller of a cancelled action gets a fresh task', () => {
    const s = newScheduler();
    const a = s.submit(request('again'));
    s.cancel(a, 'gone');
    const b = s.submit(request('again'));
    assert.notEqual(a.task, b.task);
    assert.equal(b.done, false);
  });

  it('cancels an operation no client stream follows any more after the grace period, unless one re-attaches', () => {
    const clock = new FakeClock();
    const s = newScheduler({ clock, abandonAfterMs: 60_000 });
    const kept = s.submit(request('kept'));
    const dropped = s.submit(request('dropped'));
    const releaseKept = kept.watch();
    dropped.watch()();
    releaseKept();
    clock.advance(30_000);
    const again = kept.watch(); // WaitExecution re-attaches in time.
    clock.advance(30_000);
    assert.equal(dropped.response?.status?.code, Code.CANCELLED);
    assert.equal(kept.done, false);
    again();
  });
});

describe('Scheduler: slots and policies', () => {
  const sized = (slots: Record<string, number>): SchedulerPolicy => ({ slots: (t) => slots[String(t.request.command.arguments?.[0])] ?? 1 });

  it('gives a task the slots a policy asks for, up to what the worker has free, and tells the worker', async () => {
    const s = newScheduler({ policies: [sized({ heavy: 3 })] });
    const w = new FakeWorker();
    const id = s.registerWorker({ workerName: 'w', slots: 4 }, w);
    const heavy = s.submit(request('heavy'));
    s.submit(request('light-1'));
    s.submit(request('light-2'));
    assert.deepEqual(w.assigned, ['heavy', 'light-1'], 'heavy holds 3 of 4 slots');
    assert.deepEqual(w.messages.filter((m) => m.assign).map((m) => m.assign!.slots), [3, 1]);
    await s.finished(id, ok(heavy.taskId));
    assert.deepEqual(w.assigned, ['heavy', 'light-1', 'light-2']);
    assert.deepEqual(s.snapshot().workers.map((x) => x.busySlots), [2]);
  });

  it('spreads work over workers by free slots', () => {
    const s = newScheduler();
    const w1 = new FakeWorker();
    const w2 = new FakeWorker();
    s.registerWorker({ workerName: 'w1', slots: 2 }, w1);
    s.registerWorker({ workerName: 'w2', slots: 2 }, w2);
    s.submit(request('a'));
    s.submit(request('b'));
    assert.deepEqual([w1.assigned.length, w2.assigned.length], [1, 1]);
  });

  it('orders by the policies’ rank within priority and fairness, and re-ranks on request', () => {
    let boost = '';
    let host!: Parameters<NonNullable<SchedulerPolicy['attach']>>[0];
    const policy: SchedulerPolicy = { attach: (h) => (host = h), rank: (t) => (t.request.command.arguments?.[0] === boost ? 10 : 0) };
    const s = newScheduler({ policies: [policy] });
    s.submit(request('first'));
    const second = s.submit(request('second'));
    boost = 'second';
    host.rerank(second.task);
    const w = new FakeWorker();
    s.registerWorker({ workerName: 'w', slots: 1 }, w);
    assert.deepEqual(w.assigned, ['second']);
  });
});
