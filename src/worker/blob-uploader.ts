import { createReadStream } from 'node:fs';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { wrap } from '../grpc/status-error';
import { mapLimit } from '../util/map-limit';

/** A blob to upload: bytes in memory (Tree, Directory messages) or a file (outputs, stdout, stderr). */
export type PendingBlob = { digest: Digest; data: Buffer } | { digest: Digest; file: string };

/** Hashes a file by streaming it. */
export async function digestFile(file: string, fn: DigestFunction): Promise<Digest> {
  const hash = fn.createHash();
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return Digest.of(hash.digest('hex'), size, fn);
}

/** Uploads what the CAS lacks (asking once with FindMissingBlobs); identical blobs are sent once. */
export async function uploadBlobs(store: BlobStore, blobs: PendingBlob[], concurrency = 8): Promise<void> {
  const unique = [...new Map(blobs.map((b) => [b.digest.key, b])).values()];
  if (unique.length === 0) return;
  const missing = new Set((await store.findMissing(unique.map((b) => b.digest))).map((d) => d.key));
  await mapLimit(unique.filter((b) => missing.has(b.digest.key)), concurrency, (b) => uploadOne(store, b));
}

async function uploadOne(store: BlobStore, blob: PendingBlob): Promise<void> {
  const w = await store.createWriter(blob.digest);
  try {
    if ('data' in blob) await w.write(blob.data);
    else for await (const chunk of createReadStream(blob.file, { highWaterMark: 1024 * 1024 })) await w.write(chunk as Buffer);
    await w.commit();
  } catch (err) {
    await w.abort();
    throw wrap(err, `uploading ${'file' in blob ? blob.file : 'blob'} (${blob.digest})`);
  }
}
