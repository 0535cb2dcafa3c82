import { readInto } from '../blobstore/blob-io';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { FramedMessage, GRPC_PREFIX_BYTES } from '../grpc/framed-message';
import { digestMessageBytes, fieldBytes, writeDigestField, writeVarint } from '../grpc/wire-encoding';

/** Response.status = OK: field 3, an empty google.rpc.Status. */
const OK_STATUS_FIELD = [0x1a, 0x00];

export type BatchReadFrame = { frame: FramedMessage } | { frame?: undefined; data: (Buffer | undefined)[]; errors: unknown[] };

/**
 * Reads a BatchReadBlobs answer straight into one encoded BatchReadBlobsResponse: the layout follows from the digests'
 * sizes, so each blob is read into its final place in the gRPC frame (no buffer per blob, no protobuf copy, no grpc-js
 * copy). If any blob cannot be read, it returns what each entry got instead, for the caller to answer entry by entry.
 */
export async function readBatchFrame(store: BlobStore, digests: Digest[]): Promise<BatchReadFrame> {
  const inner = digests.map((d) => fieldBytes(digestMessageBytes(d)) + fieldBytes(d.size) + OK_STATUS_FIELD.length);
  const total = inner.reduce((n, b) => n + fieldBytes(b), GRPC_PREFIX_BYTES);
  const frame = Buffer.allocUnsafe(total);
  const dataAt: number[] = [];
  let at = GRPC_PREFIX_BYTES;
  digests.forEach((d, i) => {
    frame[at++] = 0x0a; // responses = 1
    at = writeVarint(frame, at, inner[i]);
    at = writeDigestField(frame, at, 0x0a, d);
    frame[at++] = 0x12; // data = 2
    at = writeVarint(frame, at, d.size);
    dataAt.push(at);
    at += d.size;
    frame[at++] = OK_STATUS_FIELD[0];
    frame[at++] = OK_STATUS_FIELD[1];
  });
  const errors: unknown[] = new Array(digests.length).fill(undefined);
  let failed = false;
  await Promise.all(
    digests.map((d, i) =>
      readInto(store, d, frame, dataAt[i]).catch((err: unknown) => {
        errors[i] = err ?? new Error('read failed');
        failed = true;
      }),
    ),
  );
  if (!failed) return { frame: new FramedMessage(frame) };
  return { data: digests.map((d, i) => (errors[i] ? undefined : frame.subarray(dataAt[i], dataAt[i] + d.size))), errors };
}
