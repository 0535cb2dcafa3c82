// Short names for the generated protobuf namespaces; everything else imports from here.
import { build, google, rustexec } from './gen/protos';

export const re = build.bazel.remote.execution.v2;
export const bytestream = google.bytestream;
export const longrunning = google.longrunning;
export const rpc = google.rpc;
export const protobuf = google.protobuf;
export const semver = build.bazel.semver;
export const asset = build.bazel.remote.asset.v1;

export import REv2 = build.bazel.remote.execution.v2;
export import ByteStreamPb = google.bytestream;
export import LongrunningPb = google.longrunning;
export import RpcPb = google.rpc;
export import ProtobufPb = google.protobuf;
export import AssetPb = build.bazel.remote.asset.v1;

/** A Buffer view of decoded `bytes` (no copy; protobufjs usually hands out Buffers in Node already). */
export function asBuffer(b: Uint8Array | null | undefined): Buffer {
  if (!b) return Buffer.alloc(0);
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Encodes a message to a Buffer. */
export function encode<T>(type: { encode(m: T): { finish(): Uint8Array } }, message: T): Buffer {
  return asBuffer(type.encode(message).finish());
}

/** Packs a message into google.protobuf.Any with the conventional type URL. */
export function packAny<T>(type: { encode(m: T): { finish(): Uint8Array }; getTypeUrl(prefix?: string): string }, message: T): ProtobufPb.Any {
  return protobuf.Any.create({ type_url: type.getTypeUrl(), value: encode(type, message) });
}

export const worker = rustexec.worker.v1;
export import WorkerPb = rustexec.worker.v1;
