import { Readable } from 'node:stream';
import { Digest } from '../digest/digest';
import { Code, StatusError } from '../grpc/status-error';
import { BlobReader, BlobStore, ReadOptions } from './blob-store';

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
export async function readBlob(store: BlobStore, digest: Digest, maxBytes = 64 * 1024 * 1024, range?: ReadOptions): Promise<Buffer> {
  if (digest.size > maxBytes) throw new StatusError(Code.RESOURCE_EXHAUSTED, `blob ${digest} is larger than ${maxBytes} bytes and cannot be read into memory`);
  if (range) return collect(await store.get(digest, range));
  // One buffer of the known size, filled by positioned reads: no stream and no chunk list per blob.
  const out = Buffer.allocUnsafe(digest.size);
  await readInto(store, digest, out, 0);
  return out;
}

/** Reads all of a blob into `target` at `offset` (the caller made room for digest.size bytes). */
export async function readInto(store: BlobStore, digest: Digest, target: Buffer, offset: number): Promise<void> {
  if (digest.size === 0) {
    await (await store.open(digest)).close();
    return;
  }
  const reader = await store.open(digest);
  try {
    await readFully(reader, digest, target, offset, digest.size, 0);
  } finally {
    await reader.close();
  }
}

/** Reads exactly `length` bytes at `position`; DATA_LOSS when the stored blob is shorter than its digest says. */
export async function readFully(reader: BlobReader, digest: Digest, target: Buffer, offset: number, length: number, position: number): Promise<void> {
  for (let done = 0; done < length; ) {
    const n = await reader.read(target, offset + done, length - done, position + done);
    if (n <= 0) throw new StatusError(Code.DATA_LOSS, `blob ${digest} ends after ${position + done} bytes; its digest says ${digest.size}`);
    done += n;
  }
}

/** A reader over an in-memory blob. */
export function bufferReader(data: Buffer): BlobReader {
  return {
    read: async (target, offset, length, position) => data.copy(target, offset, position, Math.min(data.byteLength, position + length)),
    close: async () => undefined,
  };
}

/**
 * A reader for stores that can only stream (S3, a remote CAS): `first` streams [start, end); reads go forward from
 * there, and a read elsewhere reopens the stream at that position (to the blob's end, `size`) with `openAt`.
 */
export function streamReader(first: Readable, start: number, end: number, size: number, openAt: (position: number) => Promise<Readable>): BlobReader {
  let stream = first;
  let streamEnd = end;
  let chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Buffer = Buffer.alloc(0);
  let next = start;
  return {
    async read(target, offset, length, position) {
      if (position !== next) {
        stream.destroy();
        stream = await openAt(position);
        streamEnd = size;
        chunks = stream[Symbol.asyncIterator]();
        pending = Buffer.alloc(0);
      }
      let done = 0;
      while (done < length) {
        if (pending.byteLength === 0) {
          const r = await chunks.next();
          if (r.done) break;
          pending = r.value;
        }
        const n = pending.copy(target, offset + done, 0, Math.min(pending.byteLength, length - done));
        pending = pending.subarray(n);
        done += n;
      }
      next = position + done;
      return done;
    },
    async close() {
      // A stream read to its end is let finish, so whatever waits for its end runs (a read cache commits its fill).
      if (next >= streamEnd && pending.byteLength === 0) await chunks.next().catch(() => undefined);
      stream.destroy();
    },
  };
}

/** `open` for a store that streams: opens `get` for the range now (so absence is NOT_FOUND at open), reads lazily. */
export async function openStreaming(store: Pick<BlobStore, 'get'>, digest: Digest, range?: ReadOptions): Promise<BlobReader> {
  const { start, end } = checkRange(digest, range);
  return streamReader(await store.get(digest, range), start, end, digest.size, (position) => store.get(digest, { offset: position }));
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
