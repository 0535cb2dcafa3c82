import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { WorkerPb } from '../proto';
import { Scheduler } from './scheduler';

type Stream = ServerDuplexStream<WorkerPb.WorkerMessage, WorkerPb.SchedulerMessage>;

/** The scheduler's end of the worker protocol: one long-lived bidirectional stream per worker process. */
export function workerService(scheduler: Scheduler, logger: Logger): UntypedServiceImplementation {
  return {
    connect: (call: Stream) => {
      let workerId: string | undefined;
      const lost = (reason: string) => {
        if (workerId) scheduler.workerLost(workerId, reason);
        workerId = undefined;
      };
      call.on('data', (msg: WorkerPb.WorkerMessage) => {
        if (msg.register) {
          if (workerId) return;
          workerId = scheduler.registerWorker(msg.register, { send: (m) => void call.write(m) });
          return;
        }
        if (!workerId) {
          logger.warn('worker sent a message before registering; closing its stream');
          call.end();
          return;
        }
        if (msg.heartbeat) scheduler.heartbeat(workerId);
        else if (msg.started) scheduler.started(workerId, msg.started.executionId ?? '');
        else if (msg.finished) void scheduler.finished(workerId, msg.finished);
        // A fused rustc run's .rmeta is ready while rustc goes on.
        else if (msg.rmetaReady) scheduler.partialResult(workerId, msg.rmetaReady.executionId ?? '', msg.rmetaReady);
      });
      call.on('end', () => {
        lost('stream closed');
        call.end();
      });
      call.on('error', (err) => lost(`stream error: ${err.message}`));
      call.on('cancelled', () => lost('stream cancelled'));
      call.on('close', () => lost('connection closed'));
    },
  };
}
