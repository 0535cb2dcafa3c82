import { Readable } from 'node:stream';
import { Digest } from '../digest/digest';

export interface ReadOptions {
  /** Byte offset to start at (0 by default). */
  offset?: number;
  /** Maximum number of bytes to return (to the end by default). */
  limit?: number;
}

/**
 * The one storage interface. Capabilities (verification, caching, tiering, metrics) are decorators around it.
 * A blob becomes visible to `get`/`findMissing` only after a writer committed it with verified bytes.
 */
export interface BlobStore {
  /** The subset of `digests` that is not stored; present blobs get their lifetime refreshed. */
  findMissing(digests: Digest[]): Promise<Digest[]>;
  /** Streams a blob (or a range of it); throws NOT_FOUND when absent and OUT_OF_RANGE for a bad offset. */
  get(digest: Digest, options?: ReadOptions): Promise<Readable>;
  /**
   * Opens a blob for reads into the caller's own buffers (the hot read path: no allocation per chunk); throws NOT_FOUND
   * when absent. `range` is the part the caller means to read, for stores that can only stream (see streamReader).
   */
  open(digest: Digest, range?: ReadOptions): Promise<BlobReader>;
  /** Opens an upload of exactly `digest`; nothing is visible until `commit()` succeeds. */
  createWriter(digest: Digest): Promise<BlobWriter>;
}

export interface BlobWriter {
  /** Bytes accepted so far (what QueryWriteStatus reports for a resumable upload). */
  readonly committedSize: number;
  write(chunk: Buffer): Promise<void>;
  /** Verifies size and hash and makes the blob visible; INVALID_ARGUMENT on mismatch (and nothing is kept). */
  commit(): Promise<void>;
  /** Discards everything written; safe to call more than once and after a failed commit. */
  abort(): Promise<void>;
}

export interface BlobReader {
  /** Reads up to `length` bytes from `position` of the blob into `target` at `offset`; fewer only at the blob's end. */
  read(target: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}
