import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putBlob, readBlob } from '../../src/blobstore/blob-io';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { VerifyingBlobStore } from '../../src/blobstore/verifying/verifying-blob-store';
import { Code } from '../../src/grpc/status-error';
import { blob, CountingBlobStore } from './blob-store-fixtures';

describe('VerifyingBlobStore', () => {
  it('rejects an upload whose bytes do not match the digest, and the inner store never sees a commit', async () => {
    const inner = new CountingBlobStore(new MemoryBlobStore(1 << 20));
    const store = new VerifyingBlobStore(inner);
    const b = blob('genuine bytes');
    const w = await store.createWriter(b.digest);
    await w.write(Buffer.from('forged  bytes'));
    await assert.rejects(w.commit(), (err: { code: Code; message: string }) => {
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.message, /bytes hash to sha256 [0-9a-f]{64}, not /);
      return true;
    });
    assert.equal(inner.commits, 0);
    assert.equal(inner.aborts, 1, 'the inner upload is discarded');
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
  });

  it('rejects a wrong size (too many bytes at write, too few at commit) without committing the inner store', async () => {
    const inner = new CountingBlobStore(new MemoryBlobStore(1 << 20));
    const store = new VerifyingBlobStore(inner);
    const b = blob(100);
    const long = await store.createWriter(b.digest);
    await assert.rejects(long.write(Buffer.alloc(101)), { code: Code.INVALID_ARGUMENT });
    const short = await store.createWriter(b.digest);
    await short.write(b.data.subarray(0, 99));
    await assert.rejects(short.commit(), { code: Code.INVALID_ARGUMENT });
    assert.equal(inner.commits, 0);
  });

  it('passes matching uploads through to the inner store', async () => {
    const inner = new CountingBlobStore(new MemoryBlobStore(1 << 20));
    const store = new VerifyingBlobStore(inner);
    const b = blob(5000);
    await putBlob(store, b.digest, b.data);
    assert.equal(inner.commits, 1);
    assert.deepEqual(await readBlob(store, b.digest), b.data);
  });
});
