import type { ClientDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { REv2, worker, WorkerPb } from '../proto';
import { toStatusError } from '../grpc/status-error';
import { Executor } from './executor';
import { durationMs } from '../util/proto-time';

export type WorkerStream = ClientDuplexStream<WorkerPb.IWorkerMessage, WorkerPb.SchedulerMessage>;

export interface WorkerConnectionOptions {
  /** Opens WorkerService.Connect (a new stream per attempt). */
  open: () => WorkerStream;
  executor: Executor;
  name: string;
  properties: REv2.Platform.IProperty[];
  slots: number;
  logger: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

/** Why an execution was aborted: only a scheduler cancel is answered; otherwise the scheduler requeues it. */
type AbortReason = 'cancel' | 'disconnect';

interface Running {
  abort: AbortController;
  reason?: AbortReason;
  done: Promise<void>;
  /** Slots the scheduler counts this action as holding. */
  slots: number;
}

/**
 * The worker side of the worker protocol: register, heartbeat, run assignments (at most `slots`), answer
 * cancels, and reconnect with exponential backoff when the stream breaks (running actions are killed first).
 */
export class WorkerConnection {
  private stopped = false;
  private backoffMs: number;
  private current?: { call: WorkerStream; finish: () => void };
  private loopDone?: Promise<void>;
  private wake?: () => void;
  private isRegistered = false;

  constructor(private readonly o: WorkerConnectionOptions) {
    this.backoffMs = o.initialBackoffMs ?? 200;
  }

  start(): void {
    this.loopDone ??= this.loop();
  }

  /** Whether the current stream is registered with the scheduler (readiness). */
  get registered(): boolean {
    return this.isRegistered;
  }

  /** Kills running actions (the scheduler requeues them), closes the stream and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.current?.finish();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.session();
      if (this.stopped) break;
      const delay = this.backoffMs * (0.5 + (this.o.random ?? Math.random)());
      this.o.logger.warn({ retryInMs: Math.round(delay) }, 'scheduler stream closed; reconnecting');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs ?? 10_000);
    }
  }

  /** One stream's lifetime; resolves once it ended and every action it ran has stopped. */
  private session(): Promise<void> {
    const { logger: log, name, slots } = this.o;
    const call = this.o.open();
    const running = new Map<string, Running>();
    let heartbeat: NodeJS.Timeout | undefined;
    let closed = false;
    const send = (m: WorkerPb.IWorkerMessage) => {
      if (!closed) call.write(worker.WorkerMessage.create(m));
    };
    return new Promise<void>((resolve) => {
      const finish = () => {
        if (closed) return;
        closed = true;
        this.isRegistered = false;
        clearInterval(heartbeat);
        call.cancel();
        for (const r of running.values()) {
          r.reason ??= 'disconnect';
          r.abort.abort();
        }
        void Promise.all([...running.values()].map((r) => r.done)).then(() => resolve());
      };
      this.current = { call, finish };
      call.on('data', (m: WorkerPb.SchedulerMessage) => {
        if (m.registered) {
          const every = durationMs(m.registered.heartbeatInterval) || 10_000;
          this.backoffMs = this.o.initialBackoffMs ?? 200;
          this.isRegistered = true;
          log.info({ workerId: m.registered.workerId, heartbeatMs: every, slots }, 'registered with the scheduler');
          clearInterval(heartbeat);
          heartbeat = setInterval(() => send({ heartbeat: {} }), every);
        } else if (m.assign) {
          const a = worker.Assignment.create(m.assign);
          if (running.has(a.executionId)) return log.warn({ execution_id: a.executionId }, 'duplicate assignment ignored');
          // A heavy action may hold several slots (size-aware slots); 0 from an older scheduler means 1.
          const held = Math.max(1, a.slots || 1);
          const busy = [...running.values()].reduce((n, x) => n + x.slots, 0);
          if (busy + held > slots) log.warn({ execution_id: a.executionId, busy, held, slots }, 'scheduler assigned more than the slots offered');
          send({ started: { executionId: a.executionId } });
          const r: Running = { abort: new AbortController(), done: Promise.resolve(), slots: held };
          running.set(a.executionId, r);
          r.done = this.o.executor
            .execute(a, r.abort.signal, { rmetaReady: (ready) => r.reason === undefined && send({ rmetaReady: ready }) })
            .then((f) => {
              if (r.reason !== 'disconnect') send({ finished: f });
            })
            .catch((err) => log.error({ execution_id: a.executionId, err: toStatusError(err).message }, 'executor threw'))
            .finally(() => running.delete(a.executionId));
        } else if (m.cancel) {
          const r = running.get(m.cancel.executionId ?? '');
          if (!r) return log.debug({ execution_id: m.cancel.executionId }, 'cancel for an execution not running here');
          log.info({ execution_id: m.cancel.executionId }, 'cancelling on the scheduler\'s request');
          r.reason ??= 'cancel';
          r.abort.abort();
        }
      });
      call.on('error', (err) => {
        if (!closed) log.warn({ err: toStatusError(err).message }, 'scheduler stream failed');
        finish();
      });
      call.on('end', finish);
      send({ register: { workerName: name, properties: this.o.properties, slots } });
    });
  }
}
