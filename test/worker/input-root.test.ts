import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { Code, StatusError } from '../../src/grpc/status-error';
import { silentLogger } from '../../src/logging/logger';
import { encode, re, rpc, REv2 } from '../../src/proto';
import { FileCache } from '../../src/worker/file-cache';
import { InputRoot } from '../../src/worker/input-root';
import { CountingStore, digestOf, dirNode, file, listTree, putBytes, putDirectory, tempDir } from './worker-fixture';

describe('InputRoot', () => {
  let base: string;
  let work: string;
  let store: MemoryBlobStore;
  let inputRoot: InputRoot;
  let n = 0;
  before(async () => {
    base = tempDir();
    work = path.join(base, 'work');
    await fsp.mkdir(work);
    store = new MemoryBlobStore(64 * 1024 * 1024);
    inputRoot = new InputRoot({ fileCache: await FileCache.open({ dir: path.join(base, 'cache'), maxBytes: 1e7, logger: silentLogger() }) });
  });
  after(async () => {
    await fsp.rm(base, { recursive: true, force: true });
  });

  it('materialises nested directories, executable bits and symlinks', async () => {
    const tool = await putBytes(store, '#!/bin/sh\necho tool\n');
    const src = await putBytes(store, 'fn main() {}\n');
    const empty = await putDirectory(store, {});
    const deep = await putDirectory(store, { files: [file('lib.rs', src)] });
    const srcDir = await putDirectory(store, { directories: [dirNode('deep', deep)], files: [file('main.rs', src)] });
    const rootDigest = await putDirectory(store, {
      files: [file('tool', tool, true)],
      directories: [dirNode('empty', empty), dirNode('src', srcDir)],
      symlinks: [{ name: 'link', target: 'src/deep/lib.rs' }, { name: 'dangling', target: 'out/not-yet' }],
    });
    const dir = path.join(work, `ok-${n++}`);
    const tree = await inputRoot.materialize(store, rootDigest, dir);
    assert.equal(tree.files.length, 3);
    assert.deepEqual(await listTree(dir), ['dangling', 'empty', 'link', 'src', 'src/deep', 'src/deep/lib.rs', 'src/main.rs', 'tool']);
    assert.equal((await fsp.stat(path.join(dir, 'tool'))).mode & 0o777, 0o555);
    assert.equal((await fsp.stat(path.join(dir, 'src/main.rs'))).mode & 0o777, 0o444);
    assert.equal(await fsp.readFile(path.join(dir, 'link'), 'utf8'), 'fn main() {}\n');
    assert.equal(await fsp.readlink(path.join(dir, 'dangling')), 'out/not-yet');
    // Same content at two paths: one inode, linked from the cache.
    assert.equal((await fsp.stat(path.join(dir, 'src/main.rs'))).ino, (await fsp.stat(path.join(dir, 'src/deep/lib.rs'))).ino);
  });

  const unsafe: [string, () => Promise<REv2.IDirectory>][] = [
    ['a file name containing "/"', async () => ({ files: [file('a/b', await putBytes(store, 'x'))] })],
    ['an empty file name', async () => ({ files: [file('', await putBytes(store, 'x'))] })],
    ['a directory named "."', async () => ({ directories: [dirNode('.', await putDirectory(store, {}))] })],
    ['a directory named ".."', async () => ({ directories: [dirNode('..', await putDirectory(store, { files: [file('evil', await putBytes(store, 'x'))] }))] })],
    ['a file and a directory with the same name', async () => ({ files: [file('same', await putBytes(store, 'x'))], directories: [dirNode('same', await putDirectory(store, {}))] })],
    ['an absolute symlink', async () => ({ symlinks: [{ name: 'etc', target: '/etc/passwd' }] })],
    ['a symlink climbing out with ".."', async () => ({ directories: [dirNode('d', await putDirectory(store, { symlinks: [{ name: 'up', target: '../../outside' }] }))] })],
    [
      'a symlink that escapes through another symlink (sub/l -> .., x -> sub/l/..)',
      async () => ({ directories: [dirNode('sub', await putDirectory(store, { symlinks: [{ name: 'l', target: '..' }] }))], symlinks: [{ name: 'x', target: 'sub/l/..' }] }),
    ],
  ];
  for (const [name, build] of unsafe) {
    it(`refuses a tree with ${name} with INVALID_ARGUMENT and writes nothing`, async () => {
      const good = await putBytes(store, 'written only if the tree were safe');
      const root = await putDirectory(store, { ...(await build()), files: [...((await build()).files ?? []), file('zz-good', good)] });
      const before = await listTree(base);
      const dir = path.join(work, `bad-${n++}`);
      await assert.rejects(inputRoot.materialize(store, root, dir), (err: StatusError) => {
        assert.equal(err.code, Code.INVALID_ARGUMENT, err.message);
        assert.match(err.message, /unsafe input tree|outside/);
        return true;
      });
      assert.deepEqual(await listTree(base), before);
    });
  }

  it('reports every missing blob (files and directories) in one FAILED_PRECONDITION', async () => {
    const present = await putBytes(store, 'present');
    const missing1 = digestOf('missing one');
    const missing2 = digestOf('missing two');
    const missingDir = digestOf('not a stored directory');
    const sub = await putDirectory(store, { files: [file('m2', missing2, true)] });
    const root = await putDirectory(store, { files: [file('p', present), file('m1', missing1)], directories: [dirNode('sub', sub), dirNode('gone', missingDir)] });
    const dir = path.join(work, `missing-${n++}`);
    await assert.rejects(inputRoot.materialize(store, root, dir), (err: StatusError) => {
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      const failure = rpc.PreconditionFailure.decode(err.details[0].value!);
      assert.equal(err.details[0].type_url, 'type.googleapis.com/google.rpc.PreconditionFailure');
      const subjects = failure.violations.map((v) => `${v.type} ${v.subject}`).sort();
      assert.deepEqual(subjects, [missing1, missing2, missingDir].map((d) => `MISSING blobs/${d.hash}/${d.size}`).sort());
      return true;
    });
    await assert.rejects(fsp.stat(dir), { code: 'ENOENT' });
  });

  it('uses the Directory messages the scheduler sent instead of fetching them, and fetches what they lack', async () => {
    const counting = new CountingStore();
    const src = await putBytes(counting, 'pub fn f() {}\n');
    const leafBytes = encode(re.Directory, re.Directory.create({ files: [file('lib.rs', src)] }));
    const leaf = await putBytes(counting, leafBytes);
    const midBytes = encode(re.Directory, re.Directory.create({ directories: [dirNode('src', leaf)] }));
    const mid = await putBytes(counting, midBytes);
    const rootBytes = encode(re.Directory, re.Directory.create({ directories: [dirNode('crate', mid)] }));
    const root = await putBytes(counting, rootBytes);
    const fresh = new InputRoot({ fileCache: await FileCache.open({ dir: path.join(base, 'cache-known'), maxBytes: 1e7, logger: silentLogger() }) });

    await fresh.materialize(counting, root, path.join(work, `known-${n++}`), undefined, [rootBytes, midBytes, leafBytes, Buffer.from('not a directory of this tree')]);
    assert.equal(counting.gets, 1, 'only the file was downloaded');
    // Part of the tree missing from what was sent: the rest is fetched as usual.
    const before = counting.gets;
    const dest = path.join(work, `known-${n++}`);
    await fresh.materialize(counting, root, dest, undefined, [rootBytes]);
    assert.equal(counting.gets - before, 2, 'the two Directories not sent were read (the file is cached)');
    assert.equal(await fsp.readFile(path.join(dest, 'crate/src/lib.rs'), 'utf8'), 'pub fn f() {}\n');
  });
});
