import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { silentLogger } from '../../src/logging/logger';
import { FileCache } from '../../src/worker/file-cache';
import { CountingStore, putBytes, tempDir } from './worker-fixture';

describe('FileCache', () => {
  let root: string;
  before(() => {
    root = tempDir();
  });
  after(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('downloads a blob once when many actions ask for it at the same time, and hardlinks the same inode', async () => {
    const store = new CountingStore(30);
    const digest = await putBytes(store, 'rustc toolchain bytes');
    const cache = await FileCache.open({ dir: path.join(root, 'c1'), maxBytes: 1e6, logger: silentLogger() });
    const dests = Array.from({ length: 8 }, (_, i) => path.join(root, `c1-dest-${i}`));
    await Promise.all(dests.map((d) => cache.link(store, digest, false, d)));
    assert.equal(store.gets, 1);
    const inodes = new Set(await Promise.all(dests.map(async (d) => (await fsp.stat(d)).ino)));
    assert.equal(inodes.size, 1);
    assert.equal((await fsp.stat(dests[0])).nlink, 9); // 8 links + the cache's own file
    assert.equal(await fsp.readFile(dests[3], 'utf8'), 'rustc toolchain bytes');
  });

  it('keeps executable and non-executable variants as separate files with read-only modes 0555 and 0444', async () => {
    const store = new CountingStore();
    const digest = await putBytes(store, '#!/bin/sh\necho hi\n');
    const cache = await FileCache.open({ dir: path.join(root, 'c2'), maxBytes: 1e6, logger: silentLogger() });
    await cache.link(store, digest, true, path.join(root, 'c2-x'));
    await cache.link(store, digest, false, path.join(root, 'c2-f'));
    const [x, f] = await Promise.all([fsp.stat(path.join(root, 'c2-x')), fsp.stat(path.join(root, 'c2-f'))]);
    assert.equal(x.mode & 0o777, 0o555);
    assert.equal(f.mode & 0o777, 0o444);
    assert.notEqual(x.ino, f.ino);
    assert.equal(store.gets, 2);
  });

  it('evicts the least recently used files beyond maxBytes while links already placed stay valid', async () => {
    const store = new CountingStore();
    const a = await putBytes(store, 'a'.repeat(400));
    const b = await putBytes(store, 'b'.repeat(400));
    const c = await putBytes(store, 'c'.repeat(400));
    const cache = await FileCache.open({ dir: path.join(root, 'c3'), maxBytes: 1000, logger: silentLogger() });
    await cache.link(store, a, false, path.join(root, 'c3-a'));
    await cache.link(store, b, false, path.join(root, 'c3-b'));
    await cache.link(store, a, false, path.join(root, 'c3-a2')); // a is now the most recently used
    await cache.link(store, c, false, path.join(root, 'c3-c'));
    assert.equal(cache.has(a, false), true);
    assert.equal(cache.has(b, false), false);
    assert.equal(cache.has(c, false), true);
    assert.ok(cache.size <= 1000);
    assert.equal(await fsp.readFile(path.join(root, 'c3-b'), 'utf8'), 'b'.repeat(400));
    await new Promise((r) => setTimeout(r, 20)); // eviction unlinks asynchronously
    assert.equal((await fsp.readdir(path.join(root, 'c3', 'files'))).length, 2);
    const gets = store.gets;
    await cache.link(store, b, false, path.join(root, 'c3-b2'));
    assert.equal(store.gets, gets + 1);
  });

  it('serves a blob larger than the whole cache without keeping it', async () => {
    const store = new CountingStore();
    const big = await putBytes(store, 'z'.repeat(5000));
    const cache = await FileCache.open({ dir: path.join(root, 'c4'), maxBytes: 1000, logger: silentLogger() });
    await cache.link(store, big, false, path.join(root, 'c4-big'));
    assert.equal((await fsp.stat(path.join(root, 'c4-big'))).size, 5000);
    assert.equal(cache.has(big, false), false);
  });

  it('refuses a blob whose bytes do not hash to its digest and leaves nothing in the cache', async () => {
    const store = new CountingStore();
    const good = await putBytes(store, 'good');
    const liar = { ...store, findMissing: store.findMissing.bind(store), createWriter: store.createWriter.bind(store), get: () => store.inner.get(good), open: () => store.inner.open(good) };
    const wrong = (await import('./worker-fixture')).digestOf('evil');
    const cache = await FileCache.open({ dir: path.join(root, 'c5'), maxBytes: 1e6, logger: silentLogger() });
    await assert.rejects(cache.link(liar, wrong, false, path.join(root, 'c5-x')), /hash|bytes/);
    assert.equal(cache.has(wrong, false), false);
    assert.deepEqual(await fsp.readdir(path.join(root, 'c5', 'tmp')), []);
  });

  describe('across restarts', () => {
    const open = (dir: string, bootId: string, maxBytes = 1e6) => FileCache.open({ dir, maxBytes, logger: silentLogger(), bootId });

    it('keeps its files when the same boot reopens it (a process crash leaves only whole, verified files)', async () => {
      const store = new CountingStore();
      const [a, b] = [await putBytes(store, 'toolchain a'), await putBytes(store, 'toolchain b')];
      const dir = path.join(root, 'r1');
      const first = await open(dir, 'boot-1');
      await first.link(store, a, false, path.join(root, 'r1-a'));
      await first.link(store, b, true, path.join(root, 'r1-b'));
      await fsp.writeFile(path.join(dir, 'tmp', 'half-downloaded'), 'x'); // as a crash mid-download leaves it
      // No close(): the process died.
      const second = await open(dir, 'boot-1');
      assert.ok(second.has(a, false) && second.has(b, true));
      assert.equal(second.size, a.size + b.size);
      const gets = store.gets;
      await second.link(store, a, false, path.join(root, 'r1-a2'));
      assert.equal(store.gets, gets, 'served from the kept file');
      assert.equal(await fsp.readFile(path.join(root, 'r1-a2'), 'utf8'), 'toolchain a');
      assert.deepEqual(await fsp.readdir(path.join(dir, 'tmp')), []);
      // New downloads never reuse a kept file's name.
      const c = await putBytes(store, 'toolchain c');
      await second.link(store, c, false, path.join(root, 'r1-c'));
      assert.equal((await fsp.readdir(path.join(dir, 'files'))).length, 3);
    });

    it('refuses a cache directory another live worker holds, and takes over one whose owner is gone', async () => {
      const dir = path.join(root, 'r3');
      await fsp.mkdir(dir, { recursive: true });
      const other = spawn('sleep', ['30'], { stdio: 'ignore' });
      try {
        await fsp.writeFile(path.join(dir, 'lock'), `boot-1 ${other.pid}`);
        await assert.rejects(open(dir, 'boot-1'), new RegExp(`in use by process ${other.pid}; give each worker its own --cache-dir`));
        assert.ok(await open(dir, 'boot-2'), 'a lock from an earlier boot is stale');
        await fsp.writeFile(path.join(dir, 'lock'), 'boot-1 999999999');
        const cache = await open(dir, 'boot-1');
        assert.equal(await fsp.readFile(path.join(dir, 'lock'), 'utf8'), `boot-1 ${process.pid}`, 'a dead owner\'s lock is taken over');
        await cache.close();
        await assert.rejects(fsp.stat(path.join(dir, 'lock')), { code: 'ENOENT' }, 'close releases the lock');
      } finally {
        other.kill();
      }
    });

    it('starts empty after a reboot unless the last run closed cleanly (synced), and drops files of the wrong size', async () => {
      const store = new CountingStore();
      const a = await putBytes(store, 'kept across a clean reboot');
      const dir = path.join(root, 'r2');
      const first = await open(dir, 'boot-1');
      await first.link(store, a, false, path.join(root, 'r2-a'));
      // Crashed, then the machine rebooted: the file may be torn, so nothing is kept.
      assert.equal((await open(dir, 'boot-2')).has(a, false), false);
      assert.deepEqual(await fsp.readdir(path.join(dir, 'files')), []);

      const second = await open(dir, 'boot-2');
      await second.link(store, a, false, path.join(root, 'r2-a2'));
      await second.close();
      const third = await open(dir, 'boot-3');
      assert.ok(third.has(a, false), 'a clean close survives a reboot');
      const [name] = await fsp.readdir(path.join(dir, 'files'));
      assert.equal((await fsp.stat(path.join(dir, 'files', name))).mode & 0o777, 0o444);

      await fsp.chmod(path.join(dir, 'files', name), 0o644);
      await fsp.truncate(path.join(dir, 'files', name), 3);
      assert.equal((await open(dir, 'boot-3')).has(a, false), false, 'a file whose size does not match its digest is dropped');
    });
  });
});
