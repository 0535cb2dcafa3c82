import { ClientWritableStream, ServiceError } from '@grpc/grpc-js';
import Long from 'long';
import { Digest } from '../../digest/digest';
import { Code, StatusError, toStatusError, wrap } from '../../grpc/status-error';
import { bytestream, ByteStreamPb } from '../../proto';
import { BlobWriter } from '../blob-store';

type OpenWrite = (cb: (err: ServiceError | null, res?: ByteStreamPb.WriteResponse) => void) => ClientWritableStream<ByteStreamPb.WriteRequest>;

/** `{hash}/{size}`, with the function segment for digest functions not inferred from the hash length. */
export function resourcePath(digest: Digest): string {
  return digest.fn.inferredFromLength ? `${digest}` : `${digest.fn.name}/${digest}`;
}

/**
 * One ByteStream Write stream, opened lazily on the first write. Respects grpc-js backpressure, and treats
 * an early response (the server already has the blob) as success: later writes become no-ops.
 */
export class GrpcBlobWriter implements BlobWriter {
  private call?: ClientWritableStream<ByteStreamPb.WriteRequest>;
  private response?: Promise<ByteStreamPb.WriteResponse>;
  private done = false;
  private offset = 0;
  private aborted = false;
  private sentFirst = false;
  private error?: StatusError;

  constructor(
    private readonly digest: Digest,
    private readonly resourceName: string,
    private readonly chunkBytes: number,
    private readonly open: OpenWrite,
  ) {}

  get committedSize(): number {
    return this.offset;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.aborted) throw new StatusError(Code.FAILED_PRECONDITION, `upload of ${this.digest} was aborted`);
    if (this.offset + chunk.byteLength > this.digest.size) {
      throw new StatusError(Code.INVALID_ARGUMENT, `upload of ${this.digest}: more than ${this.digest.size} bytes written`);
    }
    for (let i = 0; i < chunk.byteLength; i += this.chunkBytes) {
      const part = chunk.subarray(i, i + this.chunkBytes);
      if (this.error) throw wrap(this.error, `ByteStream Write of ${this.digest}`);
      if (!this.done) await this.send(part, false);
      this.offset += part.byteLength;
    }
  }

  async commit(): Promise<void> {
    if (this.offset !== this.digest.size) {
      throw new StatusError(Code.INVALID_ARGUMENT, `upload of ${this.digest}: ${this.offset} bytes written, digest says ${this.digest.size}`);
    }
    if (!this.done) {
      await this.send(Buffer.alloc(0), true);
      this.call!.end();
    }
    let res: ByteStreamPb.WriteResponse;
    try {
      res = await this.response!;
    } catch (err) {
      throw wrap(err, `ByteStream Write of ${this.digest}`);
    }
    const committed = Long.fromValue(res.committedSize).toNumber();
    if (committed !== this.digest.size) {
      throw new StatusError(Code.DATA_LOSS, `ByteStream Write of ${this.digest}: server committed ${committed} bytes, expected ${this.digest.size}`);
    }
  }

  async abort(): Promise<void> {
    this.aborted = true;
    if (this.call && !this.done) this.call.cancel();
    this.response?.catch(() => undefined);
  }

  private async send(data: Buffer, finishWrite: boolean): Promise<void> {
    const call = this.ensureOpen();
    const msg = bytestream.WriteRequest.create({ resourceName: this.sentFirst ? '' : this.resourceName, writeOffset: Long.fromNumber(this.offset), finishWrite, data });
    this.sentFirst = true;
    if (!call.write(msg)) {
      // Wait for drain, but stop waiting if the server answers (early completion or an error).
      await Promise.race([new Promise((r) => call.once('drain', r)), this.response!.then(() => undefined, () => undefined)]);
    }
  }

  private ensureOpen(): ClientWritableStream<ByteStreamPb.WriteRequest> {
    if (this.call) return this.call;
    this.response = new Promise((resolve, reject) => {
      this.call = this.open((err, res) => {
        this.done = true;
        if (err) reject((this.error = toStatusError(err)));
        else resolve(res!);
      });
    });
    this.response.catch(() => undefined);
    return this.call!;
  }
}
