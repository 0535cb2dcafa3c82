import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { collect, putBlob, readBlob } from '../../src/blobstore/blob-io';
import { Code, StatusError } from '../../src/grpc/status-error';
import { digestOf, tempDir } from './worker-fixture';
import { startTestFrontend, TestFrontend } from './frontend-fixture';

describe('GrpcBlobStore against a real frontend', () => {
  let dir: string;
  let fe: TestFrontend;
  before(async () => {
    dir = tempDir();
    fe = await startTestFrontend(dir);
  });
  after(async () => {
    await fe.close();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('uploads a multi-chunk blob with ByteStream Write and reads it back, whole and by offset/limit', async () => {
    const store = fe.store();
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const digest = digestOf(data);
    assert.deepEqual(await store.findMissing([digest]), [digest]);
    await putBlob(store, digest, data);
    assert.deepEqual(await store.findMissing([digest]), []);
    assert.ok((await readBlob(store, digest)).equals(data));
    assert.ok((await collect(await store.get(digest, { offset: 1024 * 1024 + 5, limit: 2000 }))).equals(data.subarray(1024 * 1024 + 5, 1024 * 1024 + 2005)));
    assert.ok((await collect(await store.get(digest, { offset: data.length - 10 }))).equals(data.subarray(data.length - 10)));
  });

  it('treats an upload of a blob the server already has as done (early completion)', async () => {
    const store = fe.store();
    const data = randomBytes(2 * 1024 * 1024);
    const digest = digestOf(data);
    await putBlob(store, digest, data);
    await putBlob(store, digest, data);
  });

  it('uploads small blobs with BatchUpdateBlobs and finds missing ones across several requests', async () => {
    const store = fe.store('', { findMissingChunk: 2 });
    const blobs = ['one', 'two', 'three'].map((s) => Buffer.from(s));
    await putBlob(store, digestOf(blobs[0]), blobs[0]);
    const absent = [digestOf(blobs[1]), digestOf(blobs[2]), digestOf('never')];
    assert.deepEqual((await store.findMissing([digestOf(blobs[0]), ...absent])).map(String), absent.map(String));
    assert.equal((await readBlob(store, digestOf(blobs[0]))).toString(), 'one');
  });

  it('maps server errors to StatusError with the same code', async () => {
    await assert.rejects(fe.store().get(digestOf('not there')), (e: StatusError) => e instanceof StatusError && e.code === Code.NOT_FOUND);
    await assert.rejects(fe.store('no-such-instance').findMissing([digestOf('x')]), (e: StatusError) => e instanceof StatusError && e.code !== Code.OK && e.code !== Code.INTERNAL);
    const big = randomBytes(2 * 1024 * 1024);
    await assert.rejects(putBlob(fe.store(), digestOf('other bytes with a different hash but we lie'), big), (e: StatusError) => e.code === Code.INVALID_ARGUMENT);
  });
});
