import * as assert from 'node:assert/strict';
import { ServiceError, status } from '@grpc/grpc-js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Long from 'long';
import { after, before, describe, it } from 'node:test';
import { BUCKET, contentKeyOf, listCasObjects, S3rverFixture } from '../blobstore/s3/s3rver-fixture';
import { randomBlob, TestBlob, writeName } from '../helpers/blobs';
import { startTestServer, TestServer } from '../helpers/test-server';

const MiB = 1024 * 1024;

/** Streams a blob through ByteStream Write in 256 KiB chunks; resolves to the gRPC status code it ended with. */
async function upload(server: TestServer, b: TestBlob): Promise<number> {
  const call = server.clients.byteStream.openWrite();
  const name = writeName(b);
  try {
    for (let off = 0; off < b.size; off += 256 * 1024) {
      const data = b.data.subarray(off, off + 256 * 1024);
      call.send({ resourceName: off === 0 ? name : '', writeOffset: Long.fromNumber(off), data, finishWrite: off + data.byteLength >= b.size });
      await new Promise((r) => setTimeout(r, 5));
    }
    call.stream.end();
    await call.response;
    return status.OK;
  } catch (err) {
    return (err as ServiceError).code;
  }
}

describe('clients of an S3-backed frontend while S3 is down', () => {
  let s3: S3rverFixture;
  let server: TestServer;
  let dir: string;

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-s3-outage-'));
    s3 = new S3rverFixture(path.join(dir, 's3'));
    await s3.start();
    server = await startTestServer({
      instances: (data) => ({
        '': {
          digestFunction: 'sha256',
          cas: { readCaching: { fast: { filesystem: { path: path.join(data, 'cas'), maxBytes: 1e9 } }, slow: { s3: { endpoint: s3.endpoint, bucket: BUCKET, prefix: 'outage/', accessKey: 'S3RVER', secretKey: 'S3RVER', requestTimeoutMs: 3000, listRefreshMs: 60_000, partSize: 5 * MiB, confirmMissing: false } } } },
          ac: { s3: { endpoint: s3.endpoint, bucket: BUCKET, prefix: 'outage/', accessKey: 'S3RVER', secretKey: 'S3RVER', requestTimeoutMs: 3000 } },
        },
      }),
    });
  });
  after(async () => {
    await server.close();
    await s3.kill();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('see only UNAVAILABLE during the outage, recover by themselves, and every object verifies', async () => {
    const blobs = Array.from({ length: 12 }, (_, i) => randomBlob(i < 4 ? 100 * 1024 + i : (1 + (i % 4)) * MiB + i));
    const uploads = blobs.map((b) => upload(server, b));
    await Promise.all(uploads.slice(0, 4)); // small ones are done; the large ones are mid-stream now
    await s3.kill();
    const codes = await Promise.all(uploads);
    const failed = codes.filter((c) => c !== status.OK);
    assert.ok(failed.length > 0, 'the outage hit some uploads');
    assert.deepEqual(codes.slice(0, 4), [status.OK, status.OK, status.OK, status.OK], 'uploads finished before the outage succeeded');
    assert.deepEqual([...new Set(failed)], [status.UNAVAILABLE], `failures were all UNAVAILABLE: ${codes}`);

    await s3.start();
    // Service resumes without a restart: retry what failed.
    for (const [i, b] of blobs.entries()) if (codes[i] !== status.OK) assert.equal(await upload(server, b), status.OK, `retry of blob ${i}`);
    for (const b of blobs) assert.deepEqual(await server.clients.byteStream.read(`blobs/${b.hash}/${b.size}`), b.data);

    const loc = s3.location("outage/");
    const names = await listCasObjects(loc);
    assert.equal(names.length, blobs.length);
    for (const n of names) assert.equal(await contentKeyOf(loc, n), n.split('/').at(-1), `${n} verifies against its digest`);
  });
});
