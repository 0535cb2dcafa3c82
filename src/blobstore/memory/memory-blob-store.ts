import { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { Digest } from '../../digest/digest';
import { Code, StatusError } from '../../grpc/status-error';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { blobNotFound, bufferReader, checkRange, sizeMismatch } from '../blob-io';

/** A size-bounded LRU blob store in memory. It trusts its writers: wrap it in VerifyingBlobStore at a trust boundary. */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs: LRUCache<string, Buffer>;

  /** `onEvict` is told the size of each blob evicted to stay within maxBytes (eviction metrics). */
  constructor(
    readonly maxBytes: number,
    onEvict?: (bytes: number) => void,
  ) {
    this.blobs = new LRUCache({
      maxSize: maxBytes,
      sizeCalculation: (b) => Math.max(1, b.byteLength),
      dispose: onEvict && ((b, _k, reason) => reason === 'evict' && onEvict(b.byteLength)),
    });
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    return digests.filter((d) => !d.isEmpty && this.blobs.get(d.key) === undefined);
  }

  async get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    const data = this.bytes(digest);
    const { start, end } = checkRange(digest, options);
    return Readable.from([data.subarray(start, end)], { objectMode: false });
  }

  async open(digest: Digest): Promise<BlobReader> {
    return bufferReader(this.bytes(digest));
  }

  private bytes(digest: Digest): Buffer {
    const data = digest.isEmpty ? Buffer.alloc(0) : this.blobs.get(digest.key);
    if (!data) throw blobNotFound(digest);
    return data;
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    if (digest.size > this.maxBytes) {
      throw new StatusError(Code.RESOURCE_EXHAUSTED, `blob ${digest} is larger than the memory store (${this.maxBytes} bytes)`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    // After commit or abort the writer is finished: a late commit must not store the (cleared) buffer under the digest.
    let state: 'open' | 'done' = 'open';
    const blobs = this.blobs;
    const finished = () => new StatusError(Code.FAILED_PRECONDITION, `upload of ${digest} is already finished`);
    return {
      get committedSize() {
        return size;
      },
      async write(chunk) {
        if (state !== 'open') throw finished();
        // Refuse bytes beyond the digest's size before buffering them, so a lying client cannot fill memory.
        if (size + chunk.byteLength > digest.size) throw sizeMismatch(digest, size + chunk.byteLength);
        chunks.push(Buffer.from(chunk));
        size += chunk.byteLength;
      },
      async commit() {
        if (state !== 'open') throw finished();
        state = 'done';
        const data = size === digest.size ? Buffer.concat(chunks, size) : undefined;
        chunks.length = 0;
        if (!data) throw sizeMismatch(digest, size);
        if (!digest.isEmpty) blobs.set(digest.key, data);
      },
      async abort() {
        state = 'done';
        chunks.length = 0;
      },
    };
  }
}
