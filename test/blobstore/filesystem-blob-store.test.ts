import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { putBlob, readBlob } from '../../src/blobstore/blob-io';
import { FilesystemBlobStore } from '../../src/blobstore/filesystem/filesystem-blob-store';
import { Digest } from '../../src/digest/digest';
import { Code } from '../../src/grpc/status-error';
import { blob, Blob, EMPTY, eventually, exists, tempDir } from './blob-store-fixtures';

const blobFile = (root: string, d: Digest) => path.join(root, d.hash.slice(0, 2), d.key);

/** Every committed blob file under the store root (shard directories only, never tmp/). */
async function blobFiles(root: string): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  for (const shard of await fsp.readdir(root)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of await fsp.readdir(path.join(root, shard))) out.push({ name, size: (await fsp.stat(path.join(root, shard, name))).size });
  }
  return out;
}

describe('FilesystemBlobStore', () => {
  let root: string;
  const dirs: string[] = [];
  beforeEach(async () => {
    root = await tempDir('fs-store');
    dirs.push(root);
  });
  afterEach(async () => {
    while (dirs.length) await fsp.rm(dirs.pop()!, { recursive: true, force: true });
  });
  after(async () => {
    while (dirs.length) await fsp.rm(dirs.pop()!, { recursive: true, force: true });
  });

  it('makes a blob visible only when its writer commits, and stores it under {hh}/{hash}-{size}', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    const b = blob('hello, cache');
    const w = await store.createWriter(b.digest);
    await w.write(b.data.subarray(0, 5));
    await w.write(b.data.subarray(5));
    assert.equal(w.committedSize, b.data.byteLength);
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest], 'not visible before commit');
    await assert.rejects(store.get(b.digest), { code: Code.NOT_FOUND });

    await w.commit();
    assert.deepEqual(await store.findMissing([b.digest]), []);
    assert.deepEqual(await readBlob(store, b.digest), b.data);
    assert.deepEqual(await fsp.readFile(blobFile(root, b.digest)), b.data);
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), [], 'the temp file was renamed, not copied');
  });

  it('rejects bytes that hash differently with INVALID_ARGUMENT and leaves neither a blob nor a temp file', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    const b = blob('the real content');
    const w = await store.createWriter(b.digest);
    await w.write(Buffer.from('a forged content'));
    await assert.rejects(w.commit(), (err: { code: Code; message: string }) => {
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.message, new RegExp(b.digest.hash));
      return true;
    });
    await w.abort(); // safe after a failed commit
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
    assert.equal(await exists(blobFile(root, b.digest)), false);
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), []);
  });

  it('rejects a short upload at commit and an overlong one at write, both with INVALID_ARGUMENT and no leftovers', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    const b = blob(1000);
    const short = await store.createWriter(b.digest);
    await short.write(b.data.subarray(0, 999));
    await assert.rejects(short.commit(), { code: Code.INVALID_ARGUMENT });
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), [], 'a failed commit cleans up without waiting for abort()');

    const long = await store.createWriter(b.digest);
    await assert.rejects(long.write(Buffer.concat([b.data, Buffer.from('x')])), { code: Code.INVALID_ARGUMENT });
    await long.abort();
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), []);
  });

  it('forgets everything written when an upload is aborted, and tolerates a second abort', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    const b = blob(4096);
    const w = await store.createWriter(b.digest);
    await w.write(b.data.subarray(0, 2048));
    assert.equal((await fsp.readdir(path.join(root, 'tmp'))).length, 1, 'the upload streams into tmp/');
    await w.abort();
    await w.abort();
    await assert.rejects(w.commit(), { code: Code.FAILED_PRECONDITION });
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), []);
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
  });

  it('serves byte ranges, clamps a limit past the end and refuses an offset past the end with OUT_OF_RANGE', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    const b = blob(600_000); // larger than one read-stream chunk
    await putBlob(store, b.digest, b.data);
    assert.deepEqual(await readBlob(store, b.digest, undefined, { offset: 100, limit: 50 }), b.data.subarray(100, 150));
    assert.deepEqual(await readBlob(store, b.digest, undefined, { offset: 300_000 }), b.data.subarray(300_000));
    assert.deepEqual(await readBlob(store, b.digest, undefined, { offset: 599_990, limit: 1000 }), b.data.subarray(599_990));
    assert.equal((await readBlob(store, b.digest, undefined, { offset: 600_000 })).byteLength, 0);
    await assert.rejects(store.get(b.digest, { offset: 600_001 }), { code: Code.OUT_OF_RANGE });
    await assert.rejects(store.get(b.digest, { offset: -1 }), { code: Code.OUT_OF_RANGE });
  });

  it('evicts the least recently used blobs to stay within maxBytes, where reads and findMissing count as use', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 3000 });
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(() => blob(1000));
    for (const x of [a, b, c]) await putBlob(store, x.digest, x.data);
    await readBlob(store, a.digest); // LRU order now b, c, a
    await putBlob(store, d.digest, d.data); // evicts b
    assert.deepEqual(await store.findMissing([b.digest]), [b.digest]);
    assert.deepEqual(await store.findMissing([c.digest]), []); // LRU order now a, d, c
    await putBlob(store, e.digest, e.data); // evicts a
    assert.deepEqual(await store.findMissing([a.digest, b.digest, c.digest, d.digest, e.digest]), [a.digest, b.digest]);

    assert.ok(store.usedBytes <= 3000, `index holds ${store.usedBytes} bytes`);
    await eventually(async () => !(await exists(blobFile(root, a.digest))) && !(await exists(blobFile(root, b.digest))), 'evicted files are unlinked');
    const files = await blobFiles(root);
    assert.ok(files.reduce((n, f) => n + f.size, 0) <= 3000);
    assert.deepEqual(files.map((f) => f.name).sort(), [c, d, e].map((x) => x.digest.key).sort());
  });

  it('indexes at most maxEntries blobs, evicting the least recently used (file too), also at reopen', async () => {
    // Many tiny blobs far below maxBytes: without a count bound the in-memory index grows with every one (~250 B each).
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 30, maxEntries: 3 });
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(() => blob(10));
    for (const x of [a, b, c]) await putBlob(store, x.digest, x.data);
    await readBlob(store, a.digest); // LRU order now b, c, a
    await putBlob(store, d.digest, d.data); // evicts b
    await putBlob(store, e.digest, e.data); // evicts c
    assert.deepEqual(await store.findMissing([a.digest, b.digest, c.digest, d.digest, e.digest]), [b.digest, c.digest]);
    await eventually(async () => (await blobFiles(root)).length === 3, 'evicted files are unlinked');
    assert.deepEqual((await blobFiles(root)).map((f) => f.name).sort(), [a, d, e].map((x) => x.digest.key).sort());

    const smaller = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 30, maxEntries: 2 });
    assert.equal((await smaller.findMissing([a.digest, d.digest, e.digest])).length, 1, 'one blob over the bound went at reopen');
    await eventually(async () => (await blobFiles(root)).length === 2, 'its file too');
  });

  it('makes room for an upload when it starts, so committed blobs plus uploads in progress never exceed maxBytes', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 3000 });
    const [a, b, c, big] = [1000, 1000, 1000, 1500].map((n) => blob(n));
    for (const x of [a, b, c]) await putBlob(store, x.digest, x.data);
    const w = await store.createWriter(big.digest);
    // Before a byte arrives: a and b (least recently used) are gone, c stays.
    assert.deepEqual(await store.findMissing([a.digest, b.digest, c.digest]), [a.digest, b.digest]);
    assert.equal(store.reservedBytes, 1500);
    assert.ok(store.usedBytes + store.reservedBytes <= 3000);
    await w.write(big.data);
    await w.commit();
    assert.equal(store.reservedBytes, 0);
    assert.deepEqual(await store.findMissing([c.digest, big.digest]), []);
    // An aborted or failed upload gives its room back.
    const [x, y] = [blob(500), blob(500)];
    const aborted = await store.createWriter(x.digest);
    await aborted.abort();
    const wrong = await store.createWriter(y.digest);
    await wrong.write(x.data);
    await assert.rejects(wrong.commit(), { code: Code.INVALID_ARGUMENT });
    assert.equal(store.reservedBytes, 0);
    await eventually(async () => (await blobFiles(root)).reduce((n, f) => n + f.size, 0) <= 3000, 'the disk holds at most maxBytes');
  });

  it('keeps a blob that is re-uploaded right after its eviction (the late unlink must not delete the new file)', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1000 });
    for (let i = 0; i < 30; i++) {
      const x = blob(600);
      const y = blob(600);
      await putBlob(store, x.digest, x.data);
      const again = await store.createWriter(x.digest); // an upload of x already in flight
      await again.write(x.data);
      await putBlob(store, y.digest, y.data); // evicts x: its unlink is queued
      await again.commit();
      assert.deepEqual(await store.findMissing([x.digest]), []);
      assert.deepEqual(await readBlob(store, x.digest), x.data, `iteration ${i}`);
    }
  });

  it('keeps a re-uploaded blob whose old copy is evicted while the re-upload is being published', async () => {
    // The re-upload renamed its file into place and waits in its directory fsync; meanwhile another upload evicts the
    // blob's old index entry. That eviction's unlink must not delete the new file the commit then acknowledges.
    const shard = (d: Digest) => d.hash.slice(0, 2);
    const x = blob(10);
    let y = blob(10);
    while (shard(y.digest) === shard(x.digest)) y = blob(10);
    let gate: { started: () => void; done: Promise<void> } | undefined;
    const store = await FilesystemBlobStore.open({
      path: root,
      maxBytes: 1 << 20,
      maxEntries: 1,
      syncDirectory: async (dir) => {
        const g = gate;
        if (!g || path.basename(dir) !== shard(x.digest)) return;
        gate = undefined;
        g.started();
        await g.done;
      },
    });
    await putBlob(store, x.digest, x.data);
    let started!: () => void;
    let release!: () => void;
    const fsyncStarted = new Promise<void>((r) => (started = r));
    gate = { started, done: new Promise<void>((r) => (release = r)) };
    const again = putBlob(store, x.digest, x.data);
    await fsyncStarted; // renamed into place, not yet indexed
    await putBlob(store, y.digest, y.data); // evicts x's old entry (maxEntries 1)
    await new Promise((r) => setTimeout(r, 50)); // an unlink of it would have run by now
    release();
    await again;
    await new Promise((r) => setTimeout(r, 50)); // (and a queued unlink of it, by now)
    assert.deepEqual(await store.findMissing([x.digest]), []);
    assert.deepEqual(await readBlob(store, x.digest), x.data, 'the acknowledged re-upload is readable');
  });

  it('refuses a blob larger than the whole store with RESOURCE_EXHAUSTED before any byte is written', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1000 });
    const big = blob(1001);
    await assert.rejects(store.createWriter(big.digest), (err: { code: Code; message: string }) => {
      assert.equal(err.code, Code.RESOURCE_EXHAUSTED);
      assert.match(err.message, /larger than the whole store/);
      return true;
    });
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), []);
  });

  it('always has the empty blob, uploaded or not', async () => {
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1000 });
    assert.deepEqual(await store.findMissing([EMPTY]), []);
    assert.equal((await readBlob(store, EMPTY)).byteLength, 0);
    await putBlob(store, EMPTY, Buffer.alloc(0));
    assert.deepEqual(await store.findMissing([EMPTY]), []);
  });

  it('rebuilds its index from disk on reopen, deleting leftover temp files and blob files of the wrong size', async () => {
    const first = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    const kept: Blob[] = [blob(100), blob(2000), blob('three')];
    for (const x of kept) await putBlob(first, x.digest, x.data);
    // What a crash leaves behind: a half-written upload and (from an older version) a truncated blob file.
    const leftover = await first.createWriter(blob(500).digest);
    await leftover.write(Buffer.alloc(200));
    const torn = blob(300);
    await fsp.mkdir(path.dirname(blobFile(root, torn.digest)), { recursive: true });
    await fsp.writeFile(blobFile(root, torn.digest), torn.data.subarray(0, 100));

    const second = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    assert.deepEqual(await second.findMissing(kept.map((x) => x.digest)), []);
    for (const x of kept) assert.deepEqual(await readBlob(second, x.digest), x.data);
    assert.equal(second.usedBytes, 2105);
    assert.deepEqual(await fsp.readdir(path.join(root, 'tmp')), []);
    assert.deepEqual(await second.findMissing([torn.digest]), [torn.digest]);
    assert.equal(await exists(blobFile(root, torn.digest)), false);
  });

  it('on reopen with a smaller maxBytes, evicts the blobs with the oldest mtimes first', async () => {
    const first = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20 });
    const [old, mid, fresh] = [blob(1000), blob(1000), blob(1000)];
    const base = Date.now() / 1000;
    for (const [x, ageS] of [[old, 300], [mid, 200], [fresh, 100]] as const) {
      await putBlob(first, x.digest, x.data);
      await fsp.utimes(blobFile(root, x.digest), base - ageS, base - ageS);
    }
    const second = await FilesystemBlobStore.open({ path: root, maxBytes: 2000 });
    assert.deepEqual(await second.findMissing([old.digest, mid.digest, fresh.digest]), [old.digest]);
    await eventually(async () => !(await exists(blobFile(root, old.digest))), 'the oldest blob file is unlinked');
  });

  it('persists recency by re-stamping the mtime of a used blob once the touch interval has passed', async () => {
    let now = Date.now();
    const store = await FilesystemBlobStore.open({ path: root, maxBytes: 1 << 20, touchIntervalMs: 60_000, now: () => now });
    const x = blob(10);
    await putBlob(store, x.digest, x.data);
    const before = (await fsp.stat(blobFile(root, x.digest))).mtimeMs;
    now += 3_600_000;
    await store.findMissing([x.digest]);
    await eventually(async () => (await fsp.stat(blobFile(root, x.digest))).mtimeMs > before + 3_000_000, 'the mtime moves forward');
  });
});
