import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { Digest } from '../../digest/digest';
import { Code, StatusError } from '../../grpc/status-error';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { openStreaming } from '../blob-io';
import { fillingStream } from './filling-stream';

/**
 * A fast tier (disk, memory) in front of a slow, durable one (S3).
 * - Reads try `fast`; on NOT_FOUND they stream from `slow` to the caller while a copy fills `fast` (only for reads from
 *   offset 0, since a partial blob cannot be stored). A failing fill never fails the read.
 * - Writes are acknowledged only when `slow` committed (durability); `fast` gets a copy best-effort.
 * - FindMissingBlobs asks `slow` only: `fast` may evict a blob at any time, and a blob only `fast` holds (a fill of a
 *   blob since deleted from `slow`) must not be promised to clients. The S3 store answers from memory anyway.
 */
export class ReadCachingBlobStore implements BlobStore {
  constructor(
    private readonly fast: BlobStore,
    private readonly slow: BlobStore,
    private readonly logger?: Logger,
  ) {}

  findMissing(digests: Digest[]): Promise<Digest[]> {
    return this.slow.findMissing(digests);
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    try {
      return await this.fast.get(digest, options);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === Code.NOT_FOUND)) throw err;
    }
    const source = await this.slow.get(digest, options);
    if ((options?.offset ?? 0) !== 0 || (options?.limit && options.limit < digest.size)) return source;
    const fill = await this.fast.createWriter(digest).catch((err) => void this.logger?.debug({ err, digest: `${digest}` }, 'read cache: cannot fill'));
    return fill ? fillingStream(source, fill, digest, this.logger) : source;
  }

  /** The fast tier's reader when it has the blob; otherwise streams from `slow` (filling `fast`) as `get` does. */
  async open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    try {
      return await this.fast.open(digest, range);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === Code.NOT_FOUND)) throw err;
    }
    return openStreaming(this, digest, range);
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    const slow = await this.slow.createWriter(digest);
    let fast: BlobWriter | undefined = await this.fast.createWriter(digest).catch(() => undefined);
    const dropFast = (err: unknown) => {
      this.logger?.debug({ err, digest: `${digest}` }, 'read cache: copy to the fast tier failed; the slow tier has the blob');
      const f = fast;
      fast = undefined;
      void f?.abort().catch(() => undefined);
    };
    return {
      get committedSize() {
        return slow.committedSize;
      },
      async write(chunk) {
        await Promise.all([slow.write(chunk), fast?.write(chunk).catch(dropFast)]);
      },
      async commit() {
        try {
          await slow.commit();
        } catch (err) {
          await fast?.abort().catch(() => undefined);
          throw err;
        }
        // Awaited so a read right after the write is served by the fast tier.
        await fast?.commit().catch(dropFast);
      },
      async abort() {
        await Promise.all([slow.abort(), fast?.abort().catch(() => undefined)]);
      },
    };
  }
}
