import type { sendUnaryData, ServerReadableStream, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Code, StatusError, toStatusError } from './status-error';
import { toServiceError } from './rpc-status';

/** Logs a failed RPC: client mistakes at debug/info, server faults at warn/error. */
export function logFailure(logger: Logger, method: string, err: unknown): void {
  const s = toStatusError(err);
  const serverFault = s.code === Code.INTERNAL || s.code === Code.UNKNOWN || s.code === Code.DATA_LOSS || s.code === Code.UNAVAILABLE;
  const quiet = s.code === Code.NOT_FOUND || s.code === Code.CANCELLED;
  logger[serverFault ? 'error' : quiet ? 'debug' : 'info']({ method, code: Code[s.code], err: serverFault ? err : undefined }, s.message);
}

/** The client went away (cancelled, reset, deadline): whatever the handler ran into since is no server fault. */
function clientGone(logger: Logger, method: string, call: { cancelled: boolean }, err: unknown): boolean {
  if (!call.cancelled) return false;
  logger.debug({ method, code: 'CANCELLED', err: toStatusError(err).message }, 'the client cancelled the call');
  return true;
}

export function unary<Req, Res>(logger: Logger, method: string, fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err) => {
        if (!clientGone(logger, method, call, err)) logFailure(logger, method, err);
        callback(toServiceError(err) as ServiceError);
      },
    );
  };
}

export function serverStreaming<Req, Res>(logger: Logger, method: string, fn: (req: Req, call: ServerWritableStream<Req, Res>) => Promise<void>) {
  return (call: ServerWritableStream<Req, Res>) => {
    fn(call.request, call).then(
      () => call.end(),
      (err) => {
        if (clientGone(logger, method, call, err)) return;
        logFailure(logger, method, err);
        call.emit('error', toServiceError(err));
      },
    );
  };
}

/**
 * A client-streaming handler. A stream the client cancelled or reset ends the handler's iteration early ("Premature
 * close", or a plain end): that is the client's doing, logged at debug and never answered INTERNAL.
 */
export function clientStreaming<Req, Res>(logger: Logger, method: string, fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call).then(
      (res) => callback(null, res),
      (err) => {
        if (clientGone(logger, method, call, err)) return callback(toServiceError(new StatusError(Code.CANCELLED, 'the client cancelled the call')) as ServiceError);
        logFailure(logger, method, err);
        callback(toServiceError(err) as ServiceError);
      },
    );
  };
}

/** Writes with backpressure: waits for 'drain' when grpc-js's buffer is full, and stops if the client went away. */
export async function writeMessage<T>(call: ServerWritableStream<unknown, T>, message: T): Promise<void> {
  if (call.write(message)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}
