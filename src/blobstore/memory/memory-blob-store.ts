import { Readable } from 'node:stream';
import { Digest } from '../../digest/digest';
import { Code, StatusError } from '../../grpc/status-error';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';
import { blobNotFound, bufferReader, checkRange, sizeMismatch } from '../blob-io';
import { MEMORY_ENTRY_OVERHEAD, MemoryEntries, ownedCopy } from './memory-entry';

export interface MemoryBlobStoreOptions {
  /**
   * Blobs held at most (default 2,000,000, as the filesystem CAS): the least recently used are evicted beyond it, as
   * beyond maxBytes. maxBytes already counts MEMORY_ENTRY_OVERHEAD per blob, so this binds first only for tiny blobs
   * in a store of more than maxEntries × (384 + their size) bytes.
   */
  maxEntries?: number;
  /** Told the size of each blob evicted to stay within maxBytes or maxEntries (eviction metrics). */
  onEvict?: (bytes: number) => void;
}

const DEFAULT_MAX_ENTRIES = 2_000_000;

/**
 * A bounded LRU blob store in memory: its blobs plus MEMORY_ENTRY_OVERHEAD each stay within maxBytes, and at most
 * maxEntries blobs. It trusts its writers: wrap it in VerifyingBlobStore at a trust boundary.
 */
export class MemoryBlobStore implements BlobStore {
  private readonly blobs: MemoryEntries;

  constructor(
    readonly maxBytes: number,
    options: MemoryBlobStoreOptions = {},
  ) {
    this.blobs = new MemoryEntries('memory CAS', maxBytes, options.maxEntries ?? DEFAULT_MAX_ENTRIES, options.onEvict);
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
    // lru-cache silently drops an entry larger than maxSize: refuse it here, where the client can be told.
    if (!digest.isEmpty && digest.size + MEMORY_ENTRY_OVERHEAD > this.maxBytes) {
      throw new StatusError(
        Code.RESOURCE_EXHAUSTED,
        `blob ${digest} is larger than the memory store (${this.maxBytes} bytes, of which ${MEMORY_ENTRY_OVERHEAD} per blob go to its bookkeeping); raise the store's maxBytes`,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    // After commit or abort the writer is finished: a late commit must not store the (cleared) buffer under the digest.
    let state: 'open' | 'done' = 'open';
    const store = (data: Buffer) => this.blobs.set(digest.key, data);
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
        const data = size === digest.size ? ownedCopy(chunks, size) : undefined;
        chunks.length = 0;
        if (!data) throw sizeMismatch(digest, size);
        if (!digest.isEmpty) store(data);
      },
      async abort() {
        state = 'done';
        chunks.length = 0;
      },
    };
  }
}
