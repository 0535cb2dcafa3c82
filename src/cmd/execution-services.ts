import type { Logger } from 'pino';
import { ExecutionConfig, ServerConfig } from '../config/server-config';
import { ExecutionService, OperationsService, WorkerServiceDefinition } from '../grpc/service-definitions';
import { schedulerMetrics } from '../metrics/scheduler-metrics';
import { Scheduler } from '../scheduler/scheduler';
import { SchedulerInsight } from '../scheduler/scheduler-observer';
import { workerService } from '../scheduler/worker-service';
import { executionResultSink } from '../services/execution-result-sink';
import { executionService } from '../services/execution-service';
import { operationsService } from '../services/operations-service';
import { SubmitObserver } from '../services/submitted-action';
import { composeScheduler } from './compose-scheduler';
import type { Dashboard } from './dashboard';
import { ExtraServices } from './frontend';
import type { SidePort } from './side-port';

/**
 * Scheduler + Execution + worker protocol, served next to the cache services (all in one process). `onScheduler` gets
 * the scheduler and the read-only insight (events, snapshots, builds, crate graph) that metrics and the dashboard use.
 */
export function executionServices(
  config: ExecutionConfig,
  maxInlineBytes: number,
  logger: Logger,
  onScheduler?: (s: Scheduler, insight: SchedulerInsight) => void,
  /** Sees each action Execute hands to the scheduler (the dashboard). */
  onSubmit?: SubmitObserver,
): ExtraServices {
  return (instances) => {
    const { scheduler, insight } = composeScheduler(
      { heartbeatIntervalMs: config.heartbeatIntervalMs, maxWorkerLosses: config.maxWorkerLosses, retainCompletedMs: config.retainCompletedMs, timeoutGraceMs: 30_000, abandonAfterMs: config.abandonAfterMs },
      { fusion: config.rustFusion, criticalPath: true, sizeAwareSlots: config.sizeAwareSlots },
      executionResultSink(instances, logger),
      logger.child({ component: 'scheduler' }),
    );
    onScheduler?.(scheduler, insight);
    return [
      [ExecutionService, executionService(instances, scheduler, { defaultTimeoutMs: config.defaultTimeoutMs, maxTimeoutMs: config.maxTimeoutMs, maxInlineBytes, onSubmit }, logger)],
      [OperationsService, operationsService(instances, scheduler, logger)],
      [WorkerServiceDefinition, workerService(scheduler, logger.child({ component: 'worker-service' })), { workerOnly: true }],
    ];
  };
}

/** The execution services with the side port's observers attached: scheduler metrics and the build dashboard. */
export function observedExecutionServices(config: ServerConfig, logger: Logger, side: SidePort, dashboard: Dashboard | undefined): ExtraServices {
  return executionServices(
    config.execution,
    config.maxInlineBytes,
    logger,
    (_, insight) => {
      dashboard?.attach(insight);
      if (side.metrics) schedulerMetrics(side.metrics, insight);
    },
    dashboard?.recorder.onSubmit,
  );
}
