import { Readable } from 'node:stream';
import { Digest } from '../../digest/digest';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { hashMismatch, sizeMismatch } from '../blob-io';

/** Checks size and hash of every upload while it streams; a mismatching blob never reaches the inner store's commit. */
export class VerifyingBlobStore implements BlobStore {
  constructor(private readonly inner: BlobStore) {}

  findMissing(digests: Digest[]): Promise<Digest[]> {
    return this.inner.findMissing(digests);
  }

  get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    return this.inner.get(digest, options);
  }

  open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    return this.inner.open(digest, range);
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    const inner = await this.inner.createWriter(digest);
    const hash = digest.fn.createHash();
    let size = 0;
    return {
      get committedSize() {
        return size;
      },
      async write(chunk) {
        if (size + chunk.byteLength > digest.size) throw sizeMismatch(digest, size + chunk.byteLength);
        await inner.write(chunk);
        hash.update(chunk);
        size += chunk.byteLength;
      },
      async commit() {
        if (size !== digest.size) {
          await inner.abort();
          throw sizeMismatch(digest, size);
        }
        const actual = hash.digest('hex');
        if (actual !== digest.hash) {
          await inner.abort();
          throw hashMismatch(digest, actual);
        }
        await inner.commit();
      },
      abort: () => inner.abort(),
    };
  }
}
