import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { collect, putBlob } from '../src/blobstore/blob-io';
import { FilesystemBlobStore } from '../src/blobstore/filesystem/filesystem-blob-store';
import { ReadCachingBlobStore } from '../src/blobstore/read-caching/read-caching-blob-store';
import { S3BlobStore } from '../src/blobstore/s3/s3-blob-store';
import { newS3Location } from '../src/blobstore/s3/s3-connection';
import { Digest } from '../src/digest/digest';
import { SHA256 } from '../src/digest/digest-function';
import { medianMs, report } from './bench-util';

// s3rver (a dev dependency) ships no types.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require('s3rver') as new (o: Record<string, unknown>) => { run(): Promise<{ port: number }>; close(): Promise<void> };

/** The S3 tier against a local s3rver: FindMissingBlobs from the warm index vs the disk store, and cold vs warm 64 MiB reads. */
export async function s3Bench(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: path.join(dir, 's3'), configureBuckets: [{ name: 'bench' }] });
  const { port } = await server.run();
  const s3 = newS3Location({ endpoint: `http://127.0.0.1:${port}`, bucket: 'bench', accessKey: 'S3RVER', secretKey: 'S3RVER' });
  const slow = S3BlobStore.open(s3, { partSize: 16 * 1024 * 1024 });
  try {
    await slow.index.refresh();
    const disk = await FilesystemBlobStore.open({ path: path.join(dir, 'disk'), maxBytes: 1e9 });
    // 500 stored blobs among 10k digests: both stores answer from an in-memory index, so the mix barely matters.
    const stored = Array.from({ length: 500 }, (_, i) => Buffer.from(`stored blob ${i}`));
    for (let i = 0; i < stored.length; i += 50) {
      await Promise.all(stored.slice(i, i + 50).map((b) => Promise.all([putBlob(slow, Digest.compute(b, SHA256), b), putBlob(disk, Digest.compute(b, SHA256), b)])));
    }
    const digests = [...stored.map((b) => Digest.compute(b, SHA256)), ...Array.from({ length: 9_500 }, () => Digest.of(randomBytes(32).toString('hex'), 1000, SHA256))];
    const fsMs = await medianMs(() => disk.findMissing(digests), 20);
    const s3Ms = await medianMs(() => slow.findMissing(digests), 20);
    report('s3: FindMissingBlobs 10k digests, filesystem store', fsMs, 'ms');
    report('s3: FindMissingBlobs 10k digests, S3 store (warm index, 0 requests)', s3Ms, 'ms', `${(s3Ms / fsMs).toFixed(2)}× filesystem`);

    const size = 64 * 1024 * 1024;
    const data = randomBytes(size);
    const digest = Digest.compute(data, SHA256);
    const t0 = process.hrtime.bigint();
    await putBlob(slow, digest, data);
    const putMs = Number(process.hrtime.bigint() - t0) / 1e6;
    report('s3: write 64 MiB to S3 (4 × 16 MiB parts)', size / 1024 / 1024 / (putMs / 1000), 'MiB/s', `${putMs.toFixed(0)} ms`);
    const mibps = (ms: number) => size / 1024 / 1024 / (ms / 1000);
    let run = 0;
    const coldMs = await medianMs(async () => {
      const fast = await FilesystemBlobStore.open({ path: path.join(dir, `cold-${run++}`), maxBytes: 1e9 });
      await collect(await new ReadCachingBlobStore(fast, slow).get(digest)); // S3 GET streamed to the reader + disk fill.
    }, 3, 1);
    report('s3: read 64 MiB cold (S3 → reader, filling the disk tier)', mibps(coldMs), 'MiB/s', `${coldMs.toFixed(0)} ms`);
    const fast = await FilesystemBlobStore.open({ path: path.join(dir, 'warm'), maxBytes: 1e9 });
    const tiered = new ReadCachingBlobStore(fast, slow);
    await collect(await tiered.get(digest));
    const warmMs = await medianMs(async () => collect(await tiered.get(digest)), 5, 1);
    report('s3: read 64 MiB warm (disk tier)', mibps(warmMs), 'MiB/s', `${warmMs.toFixed(0)} ms, ${(coldMs / warmMs).toFixed(1)}× faster than cold`);
  } finally {
    slow.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
