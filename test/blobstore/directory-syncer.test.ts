import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { putBlob } from '../../src/blobstore/blob-io';
import { DirectorySyncer, fsyncDirectory } from '../../src/blobstore/filesystem/directory-syncer';
import { FilesystemBlobStore } from '../../src/blobstore/filesystem/filesystem-blob-store';
import { FileActionCache } from '../../src/actioncache/file-action-cache';
import { re } from '../../src/proto';
import { blob, tempDir } from './blob-store-fixtures';

/** A fake fsync that records, per call, which directory it synced and which entries were in it at that moment. */
function recordingSync() {
  const calls: { dir: string; entries: string[] }[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  return {
    calls,
    /** Makes the next fsyncs wait until `open()` is called (to pile up commits behind a running one). */
    hold: () => (gate = new Promise<void>((r) => (release = r))),
    open: () => release?.(),
    sync: async (dir: string) => {
      calls.push({ dir, entries: await fsp.readdir(dir) });
      await gate;
      await fsyncDirectory(dir);
    },
  };
}

describe('durable renames', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
  });
  const root = async () => {
    const d = await tempDir('dirsync');
    dirs.push(d);
    return d;
  };

  it('the filesystem store fsyncs a new shard directory, its parent, and the blob directory after the rename, before the commit resolves', async () => {
    const r = recordingSync();
    const dir = await root();
    const store = await FilesystemBlobStore.open({ path: dir, maxBytes: 1 << 20, syncDirectory: r.sync });
    const b = blob('durable blob');
    await putBlob(store, b.digest, b.data);
    const shard = path.join(dir, b.digest.hash.slice(0, 2));
    assert.deepEqual(r.calls.map((c) => c.dir), [dir, shard], 'the store root (new shard name), then the shard (the rename)');
    assert.ok(r.calls[1].entries.includes(b.digest.key), 'the shard is synced after the blob was renamed into it');
    // A second blob in the same, now existing shard costs one fsync of the shard.
    const c = blob('durable blob 2');
    const before = r.calls.length;
    await putBlob(store, c.digest, c.data);
    assert.equal(r.calls.length - before, c.digest.hash.slice(0, 2) === b.digest.hash.slice(0, 2) ? 1 : 2);
  });

  it('the file action cache fsyncs the entry directory after the rename, before put resolves', async () => {
    const r = recordingSync();
    const dir = await root();
    const ac = await FileActionCache.open(dir, { syncDirectory: r.sync });
    const action = blob('an action').digest;
    await ac.put(action, re.ActionResult.create({ exitCode: 0 }));
    const last = r.calls.at(-1)!;
    assert.equal(last.dir, path.join(dir, action.hash.slice(0, 2)));
    assert.ok(last.entries.includes(action.key));
  });

  it('an AC entry that does not decode is a miss and is removed', async () => {
    const dir = await root();
    const ac = await FileActionCache.open(dir);
    const action = blob('torn').digest;
    await ac.put(action, re.ActionResult.create({ exitCode: 0 }));
    const file = path.join(dir, action.hash.slice(0, 2), action.key);
    await fsp.writeFile(file, Buffer.from([0x0a, 0xff, 0xff])); // a length prefix past the end
    assert.equal(await ac.get(action), undefined);
    await assert.rejects(fsp.stat(file), /ENOENT/);
  });

  it('concurrent renames into one directory share an fsync that starts after all of them', async () => {
    const r = recordingSync();
    const syncer = new DirectorySyncer(r.sync);
    const dir = await root();
    r.hold();
    const first = syncer.sync(dir); // running, held open
    await new Promise((res) => setImmediate(res));
    await fsp.writeFile(path.join(dir, 'a'), '');
    const joined = [syncer.sync(dir), syncer.sync(dir), syncer.sync(dir)];
    assert.equal(joined[0], joined[1], 'later callers join the fsync waiting to start');
    r.open();
    await Promise.all([first, ...joined]);
    assert.equal(r.calls.length, 2, 'one running fsync plus one that covers every later rename');
    assert.deepEqual(r.calls[1].entries, ['a']);
  });
});
