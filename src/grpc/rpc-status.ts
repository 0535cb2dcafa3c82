import { Metadata, ServiceError, status as Code } from '@grpc/grpc-js';
import { encode, ProtobufPb, rpc, RpcPb } from '../proto';
import { StatusError, toStatusError } from './status-error';

const DETAILS_KEY = 'grpc-status-details-bin';

/** google.rpc.Status for an error (used inside batch responses and ExecuteResponse.status). */
export function toRpcStatus(err: unknown): RpcPb.Status {
  const s = toStatusError(err);
  return rpc.Status.create({ code: s.code, message: s.message, details: s.details as RpcPb.Status['details'] });
}

export const OK_STATUS: RpcPb.Status = rpc.Status.create({ code: Code.OK });

/** A grpc-js ServiceError carrying the rich status in `grpc-status-details-bin`, as clients expect. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const s = toStatusError(err);
  const metadata = new Metadata();
  if (s.details.length > 0) metadata.set(DETAILS_KEY, encode(rpc.Status, toRpcStatus(s)));
  return { code: s.code, details: s.message, message: s.message, metadata };
}

/** Reads the rich status a server sent (tests and workers use it). */
export function richStatus(err: ServiceError): RpcPb.Status | undefined {
  const raw = err.metadata?.get(DETAILS_KEY)?.[0];
  return raw ? rpc.Status.decode(raw as Buffer) : undefined;
}

export function fromRpcStatus(s: RpcPb.Status): StatusError {
  return new StatusError(s.code as Code, s.message, s.details as ProtobufPb.Any[]);
}
