import type { ClientReadableStream, Metadata, ServerWritableStream, ServiceError, UntypedServiceImplementation } from '@grpc/grpc-js';
import { Metadata as GrpcMetadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { LongrunningPb, REv2 } from '../proto';

export interface ExecutionClient {
  execute(req: REv2.ExecuteRequest, metadata: Metadata): ClientReadableStream<LongrunningPb.Operation>;
  waitExecution(req: REv2.WaitExecutionRequest, metadata: Metadata): ClientReadableStream<LongrunningPb.Operation>;
}

/** Headers a frontend passes on to the scheduler: the caller's credentials and REAPI request metadata. */
function forwardedMetadata(incoming: Metadata): Metadata {
  const out = new GrpcMetadata();
  for (const [key, values] of Object.entries(incoming.getMap())) {
    if (key === 'authorization' || key.startsWith('build.bazel.remote.execution.')) out.set(key, values as string | Buffer);
  }
  return out;
}

/**
 * The Execution API of a frontend that runs apart from the scheduler: each stream is relayed to the scheduler as is,
 * with backpressure, and its final status (including rich error details) is passed back unchanged.
 */
export function executionProxyService(scheduler: ExecutionClient, logger: Logger): UntypedServiceImplementation {
  const relay = <Req>(open: (req: Req, md: Metadata) => ClientReadableStream<LongrunningPb.Operation>) => (call: ServerWritableStream<Req, LongrunningPb.Operation>) => {
    const upstream = open(call.request, forwardedMetadata(call.metadata));
    upstream.on('data', (op: LongrunningPb.Operation) => {
      if (!call.write(op)) {
        upstream.pause();
        call.once('drain', () => upstream.resume());
      }
    });
    upstream.on('end', () => call.end());
    upstream.on('error', (err: ServiceError) => {
      if (call.cancelled) return;
      logger.debug({ code: err.code, err: err.details }, 'scheduler ended an execution stream with an error');
      call.emit('error', { code: err.code, details: err.details, metadata: err.metadata });
    });
    call.on('cancelled', () => upstream.cancel());
  };
  return {
    execute: relay((req: REv2.ExecuteRequest, md) => scheduler.execute(req, md)),
    waitExecution: relay((req: REv2.WaitExecutionRequest, md) => scheduler.waitExecution(req, md)),
  };
}
