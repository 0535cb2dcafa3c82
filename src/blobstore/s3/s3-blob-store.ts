import { PassThrough, Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Digest } from '../../digest/digest';
import { Code, StatusError } from '../../grpc/status-error';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { blobNotFound, checkRange, openStreaming } from '../blob-io';
import { S3BlobWriter, MIN_PART_SIZE } from './s3-blob-writer';
import { S3Location } from './s3-connection';
import { isS3NotFound, s3StatusError } from './s3-errors';
import { S3ExistenceIndex } from './s3-existence-index';
import { casKey, casPrefix, digestKeyOf } from './s3-keys';

export interface S3BlobStoreOptions {
  /** Blobs up to this size are sent in one PUT after verification; larger ones as multipart uploads of this part size. */
  partSize?: number;
  /** Full listing of `cas/` this often (see S3ExistenceIndex for what that means for consistency). */
  listRefreshMs?: number;
  /** Confirm index misses with HEAD requests (for a scheduler, which must not see another process's uploads as missing). */
  confirmMissing?: boolean;
  logger?: Logger;
}

/**
 * Blobs as objects `{prefix}cas/{hash}-{size}` in one bucket. FindMissingBlobs is answered from an in-memory index of
 * the bucket (S3ExistenceIndex); reads are ranged GETs streamed to the caller; writes are verified before any object
 * appears under `cas/` (S3BlobWriter). S3 failures surface as UNAVAILABLE, absent objects as NOT_FOUND.
 */
export class S3BlobStore implements BlobStore {
  readonly index: S3ExistenceIndex;
  private readonly partSize: number;

  private constructor(
    private readonly s3: S3Location,
    private readonly options: S3BlobStoreOptions,
  ) {
    this.partSize = options.partSize ?? 16 * 1024 * 1024;
    if (this.partSize < MIN_PART_SIZE) throw new Error(`S3 part size must be at least ${MIN_PART_SIZE} bytes (S3's minimum), got ${this.partSize}`);
    this.index = new S3ExistenceIndex({
      listKeys: () => this.listKeys(),
      exists: (key) => this.exists(key),
      refreshMs: options.listRefreshMs ?? 60_000,
      logger: options.logger,
    });
  }

  /** Starts the listing in the background: the store serves (with HEADs) even while S3 is still unreachable. */
  static open(s3: S3Location, options: S3BlobStoreOptions = {}): S3BlobStore {
    const store = new S3BlobStore(s3, options);
    store.index.start();
    return store;
  }

  close(): void {
    this.index.close();
  }

  findMissing(digests: Digest[]): Promise<Digest[]> {
    return this.index.findMissing(digests, this.options.confirmMissing);
  }

  /** Ranged GETs cannot fill a caller's buffer directly: the reader streams and copies. */
  open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    return openStreaming(this, digest, range);
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    const { start, end } = checkRange(digest, options);
    if (digest.isEmpty) return Readable.from([], { objectMode: false });
    const key = casKey(this.s3.prefix, digest);
    const where = `reading ${digest} from s3://${this.s3.bucket}/${key}`;
    if (start === end) {
      if (!(await this.exists(digest.key))) throw blobNotFound(digest);
      return Readable.from([], { objectMode: false });
    }
    let body: Readable;
    try {
      body = await this.s3.client.getPartialObject(this.s3.bucket, key, start, end - start);
    } catch (err) {
      if (isS3NotFound(err)) {
        this.index.remove(digest.key); // Deleted behind our back: stop reporting it present.
        throw blobNotFound(digest);
      }
      throw s3StatusError(err, where);
    }
    this.index.add(digest.key); // Another frontend may have written it: visible from now on.
    // A connection lost mid-body must reach the caller as UNAVAILABLE, not as a raw socket error.
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    body.on('error', (err) => out.destroy(s3StatusError(err, where)));
    out.on('close', () => body.destroy());
    return body.pipe(out);
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    if (digest.size > 5 * 1024 ** 4) throw new StatusError(Code.INVALID_ARGUMENT, `blob ${digest} is larger than S3's 5 TiB object limit`);
    return new S3BlobWriter(this.s3, casKey(this.s3.prefix, digest), digest, this.partSize, () => this.index.add(digest.key));
  }

  /** One HEAD request. */
  private async exists(key: string): Promise<boolean> {
    const objectName = `${casPrefix(this.s3.prefix)}${key}`;
    try {
      await this.s3.client.statObject(this.s3.bucket, objectName);
      return true;
    } catch (err) {
      if (isS3NotFound(err)) return false;
      throw s3StatusError(err, `checking s3://${this.s3.bucket}/${objectName}`);
    }
  }

  /**
   * Lists `cas/` 1000 keys per request. ListObjects (v1) with the last key as marker, not v2: s3rver cannot produce
   * v2 continuation tokens on Node ≥ 17 (it encrypts them with DES, which OpenSSL 3 dropped); S3 and MinIO serve both.
   */
  private async *listKeys(): AsyncIterable<string[]> {
    const dir = casPrefix(this.s3.prefix);
    let marker = '';
    for (;;) {
      const page = await this.s3.client.listObjectsQuery(this.s3.bucket, dir, marker, { Delimiter: '', MaxKeys: 1000 }).catch((err) => {
        throw s3StatusError(err, `listing s3://${this.s3.bucket}/${dir}`);
      });
      yield page.objects.flatMap((o) => {
        const k = o.name === undefined ? undefined : digestKeyOf(o.name, dir);
        return k ? [k] : [];
      });
      const last = page.objects.at(-1)?.name;
      if (!page.isTruncated || !last) return;
      marker = page.nextMarker || last;
    }
  }
}
