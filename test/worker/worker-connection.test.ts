import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelCredentials, Client, makeGenericClientConstructor, Server, ServerCredentials, ServerDuplexStream } from '@grpc/grpc-js';
import { Code } from '../../src/grpc/status-error';
import { WorkerServiceDefinition } from '../../src/grpc/service-definitions';
import { silentLogger } from '../../src/logging/logger';
import { protobuf, rpc, worker, WorkerPb } from '../../src/proto';
import { Executor } from '../../src/worker/executor';
import { WorkerConnection, WorkerStream } from '../../src/worker/worker-connection';

type Stream = ServerDuplexStream<WorkerPb.WorkerMessage, WorkerPb.SchedulerMessage>;

/** A tiny scheduler: hands each new stream to the test and queues what workers send. */
class FakeScheduler {
  readonly server = new Server();
  streams: Stream[] = [];
  private inbox: WorkerPb.WorkerMessage[] = [];
  private waiters: (() => void)[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server.addService(WorkerServiceDefinition, {
      connect: (call: Stream) => {
        this.streams.push(call);
        call.on('data', (m: WorkerPb.WorkerMessage) => {
          this.inbox.push(m);
          this.waiters.splice(0).forEach((w) => w());
        });
        call.on('error', () => undefined);
      },
    });
    this.port = await new Promise((res, rej) => this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  }

  /** The next message of a kind other than heartbeat. */
  async next(): Promise<WorkerPb.WorkerMessage> {
    for (;;) {
      const i = this.inbox.findIndex((m) => !m.heartbeat);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  heartbeats(): number {
    return this.inbox.filter((m) => m.heartbeat).length;
  }
}

/** Sleeps until aborted or for `ms`, then reports OK with the exit code 0. */
class SleepyExecutor implements Executor {
  seen: string[] = [];
  aborted: string[] = [];
  constructor(private readonly ms: number) {}
  async execute(a: WorkerPb.Assignment, signal: AbortSignal): Promise<WorkerPb.ExecutionFinished> {
    this.seen.push(a.executionId);
    const wasAborted = await new Promise<boolean>((res) => {
      const t = setTimeout(() => res(false), a.executionId.startsWith('slow') ? 10_000 : this.ms);
      signal.addEventListener('abort', () => (clearTimeout(t), res(true)), { once: true });
    });
    if (wasAborted) this.aborted.push(a.executionId);
    return worker.ExecutionFinished.create({
      executionId: a.executionId,
      status: wasAborted ? rpc.Status.create({ code: Code.CANCELLED, message: 'cancelled' }) : rpc.Status.create({ code: Code.OK }),
      result: wasAborted ? null : { exitCode: 0 },
    });
  }
}

const ack = (id: string) => worker.SchedulerMessage.create({ registered: { workerId: id, heartbeatInterval: protobuf.Duration.create({ nanos: 50_000_000 }) } });
const assign = (id: string) => worker.SchedulerMessage.create({ assign: { executionId: id, instanceName: '' } });

describe('WorkerConnection through real gRPC against a fake scheduler', () => {
  const scheduler = new FakeScheduler();
  let client: Client & { connect(): WorkerStream };
  let connection: WorkerConnection;
  const executor = new SleepyExecutor(100);
  before(async () => {
    await scheduler.start();
    client = new (makeGenericClientConstructor(WorkerServiceDefinition, 'WorkerService'))(`127.0.0.1:${scheduler.port}`, ChannelCredentials.createInsecure()) as unknown as Client & { connect(): WorkerStream };
    connection = new WorkerConnection({
      open: () => client.connect(),
      executor,
      name: 'w1',
      properties: [{ name: 'OSFamily', value: 'Linux' }],
      slots: 2,
      logger: silentLogger(),
      initialBackoffMs: 20,
      random: () => 0.5,
    });
    connection.start();
  });
  after(async () => {
    await connection.stop();
    client.close();
    scheduler.server.forceShutdown();
  });

  it('registers with its name, properties and slots, then heartbeats at the interval the scheduler asked for', async () => {
    const reg = await scheduler.next();
    assert.equal(reg.register?.workerName, 'w1');
    assert.equal(reg.register?.slots, 2);
    assert.deepEqual(reg.register?.properties?.map((p) => `${p.name}=${p.value}`), ['OSFamily=Linux']);
    scheduler.streams[0].write(ack('id-1'));
    await new Promise((r) => setTimeout(r, 180));
    assert.ok(scheduler.heartbeats() >= 2, `heartbeats: ${scheduler.heartbeats()}`);
  });

  it('sends started immediately, then finished with the executor result', async () => {
    scheduler.streams[0].write(assign('e1'));
    const started = await scheduler.next();
    assert.equal(started.started?.executionId, 'e1');
    const finished = await scheduler.next();
    assert.equal(finished.finished?.executionId, 'e1');
    assert.equal(finished.finished?.status?.code, Code.OK);
  });

  it('answers a cancel with finished CANCELLED', async () => {
    const slow = 'slow-1';
    scheduler.streams[0].write(worker.SchedulerMessage.create({ assign: { executionId: slow } }));
    assert.equal((await scheduler.next()).started?.executionId, slow);
    scheduler.streams[0].write(worker.SchedulerMessage.create({ cancel: { executionId: slow } }));
    const finished = await scheduler.next();
    assert.equal(finished.finished?.executionId, slow);
    assert.equal(finished.finished?.status?.code, Code.CANCELLED);
    assert.deepEqual(executor.aborted, [slow]);
  });

  it('kills running actions when the stream breaks and reconnects with a new registration', async () => {
    const long = new SleepyExecutor(10_000);
    const c2 = new WorkerConnection({ open: () => client.connect(), executor: long, name: 'w2', properties: [], slots: 1, logger: silentLogger(), initialBackoffMs: 20, random: () => 0.5 });
    c2.start();
    try {
      const reg = await scheduler.next();
      assert.equal(reg.register?.workerName, 'w2');
      const stream = scheduler.streams[scheduler.streams.length - 1];
      stream.write(ack('id-2'));
      stream.write(assign('e-lost'));
      assert.equal((await scheduler.next()).started?.executionId, 'e-lost');
      stream.end();
      const again = await scheduler.next();
      assert.equal(again.register?.workerName, 'w2');
      assert.deepEqual(long.aborted, ['e-lost']);
    } finally {
      await c2.stop();
    }
  });
});

