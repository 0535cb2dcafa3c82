// Short names for the generated protobuf namespaces; everything else imports from here.
import { build, google, rustexec } from './gen/protos';

export const re = build.bazel.remote.execution.v2;
export const bytestream = google.bytestream;
export const longrunning = google.longrunning;
export const rpc = google.rpc;
export const protobuf = google.protobuf;
export const semver = build.bazel.semver;

export import REv2 = build.bazel.remote.execution.v2;
export import ByteStreamPb = google.bytestream;
export import LongrunningPb = google.longrunning;
export import RpcPb = google.rpc;
export import ProtobufPb = google.protobuf;

/** Encodes a message to a Buffer (protobufjs returns a Buffer-backed Uint8Array in Node). */
export function encode<T>(type: { encode(m: T): { finish(): Uint8Array } }, message: T): Buffer {
  const bytes = type.encode(message).finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Packs a message into google.protobuf.Any with the conventional type URL. */
export function packAny<T>(type: { encode(m: T): { finish(): Uint8Array }; getTypeUrl(prefix?: string): string }, message: T): ProtobufPb.Any {
  return protobuf.Any.create({ type_url: type.getTypeUrl(), value: encode(type, message) });
}

export const worker = rustexec.worker.v1;
export import WorkerPb = rustexec.worker.v1;
