import { Digest } from '../../digest/digest';
import { Code, StatusError } from '../../grpc/status-error';
import { BlobWriter } from '../blob-store';
import { hashMismatch, sizeMismatch } from '../blob-io';
import { S3Location } from './s3-connection';
import { s3StatusError } from './s3-errors';

/** S3 rejects multipart parts below 5 MiB (except the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * Uploads one blob to its final `cas/` key without ever exposing unverified bytes there:
 * - blobs up to `partSize` are buffered, verified at commit, then sent in one PUT (one request, nothing to clean up);
 * - larger blobs stream as a multipart upload straight to the final key, hashed while they stream, one part in flight
 *   while the next fills (memory ≤ 2 × partSize). S3 shows a multipart object only after CompleteMultipartUpload, which
 *   is sent only after size and hash matched; on a mismatch the upload is aborted instead. This avoids a temp key and
 *   a server-side copy (which costs time proportional to the blob and is limited to 5 GiB per CopyObject).
 * Uploads abandoned by a crash stay invisible; a bucket lifecycle rule (AbortIncompleteMultipartUpload) reclaims them.
 */
export class S3BlobWriter implements BlobWriter {
  private readonly hash;
  private size = 0;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private uploadId: Promise<string> | undefined;
  private readonly parts: { part: number; etag: string }[] = [];
  private partCount = 0;
  private inFlight: Promise<void> | undefined;
  private state: 'open' | 'done' = 'open';

  constructor(
    private readonly s3: S3Location,
    private readonly key: string,
    private readonly digest: Digest,
    private readonly partSize: number,
    private readonly onCommitted: () => void,
  ) {
    this.hash = digest.fn.createHash();
  }

  get committedSize(): number {
    return this.size;
  }

  async write(chunk: Buffer): Promise<void> {
    this.checkOpen();
    if (this.size + chunk.byteLength > this.digest.size) throw sizeMismatch(this.digest, this.size + chunk.byteLength);
    this.hash.update(chunk);
    this.size += chunk.byteLength;
    this.buffered.push(Buffer.from(chunk)); // Copy: callers may reuse their buffers (gRPC message views).
    this.bufferedBytes += chunk.byteLength;
    // Keep at least one byte back so the final part is never empty and is sent only after verification.
    while (this.digest.size > this.partSize && this.bufferedBytes > this.partSize) await this.sendPart(this.takeBuffered(this.partSize));
  }

  async commit(): Promise<void> {
    this.checkOpen();
    this.state = 'done';
    try {
      await this.inFlight;
      if (this.size !== this.digest.size) throw sizeMismatch(this.digest, this.size);
      const actual = this.hash.digest('hex');
      if (actual !== this.digest.hash) throw hashMismatch(this.digest, actual);
      const rest = this.takeBuffered(this.bufferedBytes);
      if (!this.uploadId) {
        await this.s3.client.putObject(this.s3.bucket, this.key, rest, rest.byteLength).catch((err) => {
          throw s3StatusError(err, `uploading ${this.digest} to s3://${this.s3.bucket}/${this.key}`);
        });
      } else {
        await this.sendPart(rest);
        await this.inFlight;
        const parts = [...this.parts].sort((a, b) => a.part - b.part);
        await this.s3.client.completeMultipartUpload(this.s3.bucket, this.key, await this.uploadId, parts).catch((err) => {
          throw s3StatusError(err, `completing the multipart upload of ${this.digest} to s3://${this.s3.bucket}/${this.key}`);
        });
      }
    } catch (err) {
      await this.discard();
      throw err;
    }
    this.uploadId = undefined; // Completed: a later abort() has nothing to cancel.
    this.onCommitted();
  }

  async abort(): Promise<void> {
    if (this.state === 'done' && !this.uploadId) return;
    this.state = 'done';
    await this.inFlight?.catch(() => undefined);
    await this.discard();
  }

  /** Uploads one part after the previous one finished (so at most one is in flight); its failure fails the upload. */
  private async sendPart(data: Buffer): Promise<void> {
    await this.inFlight;
    this.uploadId ??= this.s3.client.initiateNewMultipartUpload(this.s3.bucket, this.key, {}).catch((err) => {
      throw s3StatusError(err, `starting a multipart upload of ${this.digest} to s3://${this.s3.bucket}/${this.key}`);
    });
    const uploadId = await this.uploadId;
    const part = ++this.partCount;
    this.inFlight = this.s3.client
      .uploadPart({ bucketName: this.s3.bucket, objectName: this.key, uploadID: uploadId, partNumber: part, headers: {} }, data)
      .then(
        (r) => void this.parts.push({ part, etag: r.etag }),
        (err) => {
          throw s3StatusError(err, `uploading part ${part} of ${this.digest} to s3://${this.s3.bucket}/${this.key}`);
        },
      );
    this.inFlight.catch(() => undefined); // Observed by the next write or commit; never an unhandled rejection.
  }

  private takeBuffered(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered, this.bufferedBytes);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.byteLength ? [rest] : [];
    this.bufferedBytes = rest.byteLength;
    return out;
  }

  /** Drops buffered bytes and aborts the multipart upload (best effort: S3 expires it anyway, and it was never visible). */
  private async discard(): Promise<void> {
    this.buffered = [];
    this.bufferedBytes = 0;
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    if (!uploadId) return;
    const id = await uploadId.catch(() => undefined);
    if (id) await this.s3.client.abortMultipartUpload(this.s3.bucket, this.key, id).catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new StatusError(Code.FAILED_PRECONDITION, `upload of ${this.digest} is already finished`);
  }
}
