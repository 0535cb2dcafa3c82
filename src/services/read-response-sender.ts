import type { ServerWritableStream } from '@grpc/grpc-js';
import { readFully } from '../blobstore/blob-io';
import { BlobReader } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { FramedMessage, GRPC_PREFIX_BYTES } from '../grpc/framed-message';

/** Largest data chunk per ReadResponse; below grpc-js's default 4 MiB receive limit on any client. */
export const READ_CHUNK = 1024 * 1024;
/** ReadResponse.data: field 10, length-delimited. */
const DATA_TAG = (10 << 3) | 2;
/** Prefix, tag and the varint of at most READ_CHUNK (3 bytes). */
const FRAME_BYTES = GRPC_PREFIX_BYTES + 1 + 3 + READ_CHUNK;
/** Frames one Read may have handed to grpc-js and not yet seen written; bounds its memory to 4 MiB. */
const IN_FLIGHT = 4;
/** Free frames kept for the next chunk or Read (16 MiB at most). */
const POOL_MAX = 16;

const pool: Buffer[] = [];

/**
 * Sends blob bytes as ReadResponse messages encoded by hand into pooled frames: the file is read straight into the
 * frame that goes to the socket (FramedMessage), so a chunk costs no allocation, no protobuf copy and no grpc-js copy.
 * A frame returns to the pool only once grpc-js reports it written.
 */
export class ReadResponseSender {
  private inFlight = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly call: ServerWritableStream<unknown, unknown>) {
    const stop = () => this.notify();
    call.once('cancelled', stop);
    call.once('close', stop);
  }

  /** Sends bytes [start, end) of the blob `reader` reads; DATA_LOSS if the stored blob is shorter than its digest. */
  async sendBlob(reader: BlobReader, digest: Digest, start: number, end: number): Promise<void> {
    for (let pos = start; pos < end && !this.call.cancelled; ) {
      const n = Math.min(READ_CHUNK, end - pos);
      const frame = pool.pop() ?? Buffer.allocUnsafeSlow(FRAME_BYTES);
      const dataOffset = writeHeader(frame, n);
      try {
        await readFully(reader, digest, frame, dataOffset, n, pos);
      } catch (err) {
        release(frame);
        throw err;
      }
      await this.send(frame, dataOffset + n);
      pos += n;
    }
  }

  /** Sends bytes produced in memory (e.g. by a compressor), copied into pooled frames. */
  async sendBytes(data: Buffer): Promise<void> {
    for (let i = 0; i < data.byteLength && !this.call.cancelled; i += READ_CHUNK) {
      const n = Math.min(READ_CHUNK, data.byteLength - i);
      const frame = pool.pop() ?? Buffer.allocUnsafeSlow(FRAME_BYTES);
      const dataOffset = writeHeader(frame, n);
      data.copy(frame, dataOffset, i, i + n);
      await this.send(frame, dataOffset + n);
    }
  }

  private async send(frame: Buffer, length: number): Promise<void> {
    while (this.inFlight >= IN_FLIGHT && !this.call.cancelled) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.call.cancelled) return release(frame);
    this.inFlight++;
    // IN_FLIGHT is below the stream's high-water mark (16 objects), so write() never asks us to wait for 'drain'.
    this.call.write(new FramedMessage(frame.subarray(0, length)), (err?: Error | null) => {
      this.inFlight--;
      // After an error grpc-js may still hold the frame: leave it to the garbage collector.
      if (!err) release(frame);
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function release(frame: Buffer): void {
  if (pool.length < POOL_MAX) pool.push(frame);
}

/** Writes ReadResponse's tag and the data length after the gRPC prefix (which grpc-js fills); returns the data offset. */
function writeHeader(frame: Buffer, n: number): number {
  let at = GRPC_PREFIX_BYTES;
  frame[at++] = DATA_TAG;
  while (n >= 0x80) {
    frame[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  frame[at++] = n;
  return at;
}
