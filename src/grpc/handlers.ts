import type { sendUnaryData, ServerReadableStream, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { Code, toStatusError } from './status-error';
import { toServiceError } from './rpc-status';

/** Logs a failed RPC: client mistakes at debug/info, server faults at warn/error. */
export function logFailure(logger: Logger, method: string, err: unknown): void {
  const s = toStatusError(err);
  const serverFault = s.code === Code.INTERNAL || s.code === Code.UNKNOWN || s.code === Code.DATA_LOSS || s.code === Code.UNAVAILABLE;
  const quiet = s.code === Code.NOT_FOUND || s.code === Code.CANCELLED;
  logger[serverFault ? 'error' : quiet ? 'debug' : 'info']({ method, code: Code[s.code], err: serverFault ? err : undefined }, s.message);
}

export function unary<Req, Res>(logger: Logger, method: string, fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err) => {
        logFailure(logger, method, err);
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
        if (call.cancelled) return;
        logFailure(logger, method, err);
        call.emit('error', toServiceError(err));
      },
    );
  };
}

export function clientStreaming<Req, Res>(logger: Logger, method: string, fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>) => {
    fn(call).then(
      (res) => callback(null, res),
      (err) => {
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
