import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { unary } from '../grpc/handlers';
import { Code, StatusError } from '../grpc/status-error';
import { LongrunningPb, protobuf } from '../proto';
import { Scheduler } from '../scheduler/scheduler';
import { Instances } from './instance';

/**
 * google.longrunning.Operations CancelOperation for Execute's operations: the caller's operation completes with
 * CANCELLED; the action goes on while another caller's operation still wants it. Cancelling a completed operation
 * changes nothing (as the API allows).
 */
export function operationsService(instances: Instances, scheduler: Scheduler, logger: Logger): UntypedServiceImplementation {
  return {
    cancelOperation: unary(logger, 'CancelOperation', async (req: LongrunningPb.CancelOperationRequest) => {
      const op = scheduler.operation(req.name ?? '');
      if (!op) throw new StatusError(Code.NOT_FOUND, `operation "${req.name}" is unknown or expired`);
      instances.get(op.request.instanceName); // The caller must be allowed on the operation's instance.
      scheduler.cancel(op, 'cancelled through the Operations API');
      return protobuf.Empty.create();
    }),
  };
}
