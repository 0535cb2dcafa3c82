import { status as Code } from '@grpc/grpc-js';
import { ProtobufPb } from '../proto';

export { Code };

/** The error type of this code base: a gRPC status code, a message a user can act on, and optional details. */
export class StatusError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly details: ProtobufPb.Any[] = [],
  ) {
    super(message);
    this.name = `StatusError(${Code[code]})`;
  }
}

/** Adds context to an error while keeping its code; unknown errors become INTERNAL (or UNAVAILABLE for I/O pressure). */
export function wrap(err: unknown, context: string): StatusError {
  const s = toStatusError(err);
  return new StatusError(s.code, `${context}: ${s.message}`, s.details);
}

export function toStatusError(err: unknown): StatusError {
  if (err instanceof StatusError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && 'code' in e) {
    if (e.code === 'ENOSPC' || e.code === 'EMFILE' || e.code === 'ENFILE') return new StatusError(Code.RESOURCE_EXHAUSTED, e.message);
    if (e.code === 'ENOENT') return new StatusError(Code.NOT_FOUND, e.message);
    // Node's stream iterator when grpc-js destroys a request stream the client cancelled or reset.
    if (e.code === 'ERR_STREAM_PREMATURE_CLOSE') return new StatusError(Code.CANCELLED, 'the client closed the stream before it ended');
    if (typeof e.code === 'number' && typeof (e as { details?: unknown }).details === 'string') {
      // A grpc-js ServiceError from a downstream call.
      return new StatusError(e.code as Code, (e as unknown as { details: string }).details);
    }
  }
  return new StatusError(Code.INTERNAL, err instanceof Error ? err.message : String(err));
}

export const invalidArgument = (msg: string) => new StatusError(Code.INVALID_ARGUMENT, msg);
export const notFound = (msg: string) => new StatusError(Code.NOT_FOUND, msg);
