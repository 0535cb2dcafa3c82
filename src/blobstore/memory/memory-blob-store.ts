import { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { Digest } from '../../digest/digest';
import { Code, StatusError } from '../../grpc/status-error';
import { BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { blobNotFound, checkRange, sizeMismatch } from '../blob-io';

/** A size-bounded LRU blob store in memory. It trusts its writers: wrap it in VerifyingBlobStore at a trust boundary. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs: LRUCache<string, Buffer>;

  constructor(readonly maxBytes: number) {
    this.blobs = new LRUCache({ maxSize: maxBytes, sizeCalculation: (b) => Math.max(1, b.byteLength) });
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    return digests.filter((d) => !d.isEmpty && this.blobs.get(d.key) === undefined);
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    const data = digest.isEmpty ? Buffer.alloc(0) : this.blobs.get(digest.key);
    if (!data) throw blobNotFound(digest);
    const { start, end } = checkRange(digest, options);
    return Readable.from([data.subarray(start, end)], { objectMode: false });
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    if (digest.size > this.maxBytes) {
      throw new StatusError(Code.RESOURCE_EXHAUSTED, `blob ${digest} is larger than the memory store (${this.maxBytes} bytes)`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const blobs = this.blobs;
    return {
      get committedSize() {
        return size;
      },
      async write(chunk) {
        chunks.push(Buffer.from(chunk));
        size += chunk.byteLength;
      },
      async commit() {
        if (size !== digest.size) throw sizeMismatch(digest, size);
        if (!digest.isEmpty) blobs.set(digest.key, Buffer.concat(chunks, size));
      },
      async abort() {
        chunks.length = 0;
      },
    };
  }
}
