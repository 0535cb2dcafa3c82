import { BaseServerInterceptingCall } from '@grpc/grpc-js/build/src/server-interceptors';

/** gRPC's message prefix: a compressed flag and a 4-byte big-endian length. */
export const GRPC_PREFIX_BYTES = 5;

/**
 * A response a handler encoded itself, into a buffer that starts with GRPC_PREFIX_BYTES of room for gRPC's prefix.
 * grpc-js otherwise serialises a response and copies it into a fresh buffer behind the prefix: for 1 MiB ByteStream
 * chunks that allocation (page faults, then garbage collection) and copy cost more than reading the file. Handlers
 * pass a FramedMessage where a response object would go; the method's serializer accepts both.
 */
export class FramedMessage {
  constructor(readonly frame: Buffer) {}

  /** The encoded message without the prefix, for a serializer that is called the ordinary way. */
  get message(): Buffer {
    return this.frame.subarray(GRPC_PREFIX_BYTES);
  }
}

let installed: boolean | undefined;

/**
 * Teaches grpc-js's server call to send a FramedMessage's buffer as it is (writing the prefix into its first five
 * bytes) instead of copying it. grpc-js has no public hook for this; if a future version renames the private method,
 * this returns false and FramedMessages are copied as before (correct, only slower). test/integration/bytestream
 * checks that it is installed.
 */
export function installZeroCopyFraming(): boolean {
  if (installed !== undefined) return installed;
  const proto = (BaseServerInterceptingCall as unknown as { prototype?: { serializeMessage?: (value: unknown) => Buffer } }).prototype;
  const original = proto?.serializeMessage;
  if (!proto || typeof original !== 'function') return (installed = false);
  proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
    if (!(value instanceof FramedMessage)) return original.call(this, value);
    const f = value.frame;
    f[0] = 0; // not compressed
    f.writeUInt32BE(f.byteLength - GRPC_PREFIX_BYTES, 1);
    return f;
  };
  return (installed = true);
}
