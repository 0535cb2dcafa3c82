import { Readable } from 'node:stream';
import { Digest } from '../digest/digest';
import { Code, StatusError } from '../grpc/status-error';
import { BlobStore, ReadOptions } from './blob-store';

/** Stores a blob held in memory. */
export async function putBlob(store: BlobStore, digest: Digest, data: Buffer): Promise<void> {
  const w = await store.createWriter(digest);
  try {
    await w.write(data);
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/** Reads a whole (small) blob into memory; refuses blobs over `maxBytes` to keep memory bounded. */
export async function readBlob(store: BlobStore, digest: Digest, maxBytes = 64 * 1024 * 1024, options?: ReadOptions): Promise<Buffer> {
  if (digest.size > maxBytes) throw new StatusError(Code.RESOURCE_EXHAUSTED, `blob ${digest} is larger than ${maxBytes} bytes and cannot be read into memory`);
  return collect(await store.get(digest, options));
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** Validates a read range against a blob size; returns the inclusive end for fs streams. */
export function checkRange(digest: Digest, options: ReadOptions | undefined): { start: number; end: number } {
  const start = options?.offset ?? 0;
  const limit = options?.limit ?? 0;
  if (start < 0 || start > digest.size) {
    throw new StatusError(Code.OUT_OF_RANGE, `read_offset ${start} is outside blob ${digest} (size ${digest.size})`);
  }
  if (limit < 0) throw new StatusError(Code.OUT_OF_RANGE, `read_limit ${limit} is negative`);
  const end = limit > 0 ? Math.min(digest.size, start + limit) : digest.size;
  return { start, end };
}

export function blobNotFound(digest: Digest): StatusError {
  return new StatusError(Code.NOT_FOUND, `blob ${digest} not found`);
}

export function sizeMismatch(digest: Digest, got: number): StatusError {
  return new StatusError(Code.INVALID_ARGUMENT, `upload of ${digest}: received ${got} bytes, digest says ${digest.size}`);
}

export function hashMismatch(digest: Digest, actual: string): StatusError {
  return new StatusError(Code.INVALID_ARGUMENT, `upload of ${digest}: bytes hash to ${digest.fn.name} ${actual}, not ${digest.hash}`);
}
