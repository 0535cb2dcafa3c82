import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { readBlob } from '../../src/blobstore/blob-io';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { Code, StatusError } from '../../src/grpc/status-error';
import { re } from '../../src/proto';
import { OutputCollector } from '../../src/worker/output-collector';
import { tempDir } from './worker-fixture';

describe('OutputCollector', () => {
  let root: string;
  const store = new MemoryBlobStore(64 * 1024 * 1024);
  const collector = new OutputCollector();
  before(async () => {
    root = tempDir();
    await fsp.mkdir(path.join(root, 'pkg/out/dir/nested'), { recursive: true });
    await fsp.writeFile(path.join(root, 'pkg/out/lib.rlib'), 'rlib');
    await fsp.writeFile(path.join(root, 'pkg/out/tool'), '#!/bin/sh\n', { mode: 0o755 });
    await fsp.writeFile(path.join(root, 'pkg/out/dir/a.txt'), 'a');
    await fsp.writeFile(path.join(root, 'pkg/out/dir/nested/b.txt'), 'b');
    await fsp.symlink('a.txt', path.join(root, 'pkg/out/dir/link'));
    await fsp.symlink('lib.rlib', path.join(root, 'pkg/out/alias'));
  });
  after(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  const read = async (d: { hash?: string | null; sizeBytes?: unknown } | null | undefined) => readBlob(store, Digest.fromProto(d as never, SHA256));

  it('collects output_paths (files, a directory as a Tree with its nested subdirectory, a symlink) relative to the working directory', async () => {
    const command = re.Command.create({ workingDirectory: 'pkg', outputPaths: ['out/lib.rlib', 'out/tool', 'out/dir', 'out/alias', 'out/absent'], outputFiles: ['ignored'] });
    const specs = collector.specs(command);
    const r = await collector.collect(store, SHA256, root, specs, false, 0);
    assert.deepEqual(r.outputFiles.map((f) => [f.path, f.isExecutable]), [['out/lib.rlib', false], ['out/tool', true]]);
    assert.equal((await read(r.outputFiles[0].digest)).toString(), 'rlib');
    assert.deepEqual(r.outputSymlinks.map((s) => [s.path, s.target]), [['out/alias', 'lib.rlib']]);
    assert.deepEqual(r.outputFileSymlinks, []);
    assert.equal(r.outputDirectories.length, 1);
    assert.equal(r.outputDirectories[0].path, 'out/dir');
    const tree = re.Tree.decode(await read(r.outputDirectories[0].treeDigest));
    assert.deepEqual(tree.root!.files!.map((f) => f.name), ['a.txt']);
    assert.deepEqual(tree.root!.symlinks!.map((s) => [s.name, s.target]), [['link', 'a.txt']]);
    assert.deepEqual(tree.root!.directories!.map((d) => d.name), ['nested']);
    assert.equal(tree.children.length, 1);
    const nested = tree.children[0];
    assert.equal(Digest.compute(Buffer.from(re.Directory.encode(re.Directory.create(nested)).finish()), SHA256).hash, tree.root!.directories![0].digest!.hash);
    assert.equal((await read(nested.files![0].digest)).toString(), 'b');
  });

  it('answers FAILED_PRECONDITION for an output_files entry that is a directory, and an output_directories entry that is a file', async () => {
    for (const command of [re.Command.create({ workingDirectory: 'pkg', outputFiles: ['out/dir'] }), re.Command.create({ workingDirectory: 'pkg', outputDirectories: ['out/lib.rlib'] })]) {
      await assert.rejects(collector.collect(store, SHA256, root, collector.specs(command), true, 0), (e: StatusError) => e.code === Code.FAILED_PRECONDITION && /listed in output_(files|directories), is a (directory|regular file)/.test(e.message));
    }
    // output_paths decides after the run: either is fine.
    const r = await collector.collect(store, SHA256, root, collector.specs(re.Command.create({ workingDirectory: 'pkg', outputPaths: ['out/dir', 'out/lib.rlib'] })), false, 0);
    assert.deepEqual([r.outputDirectories.length, r.outputFiles.length], [1, 1]);
  });

  it('supports the old output_files/output_directories fields and fills the old symlink lists too', async () => {
    const command = re.Command.create({ workingDirectory: 'pkg', outputFiles: ['out/lib.rlib', 'out/alias'], outputDirectories: ['out/dir'] });
    const r = await collector.collect(store, SHA256, root, collector.specs(command), true, 0);
    assert.deepEqual(r.outputFiles.map((f) => f.path), ['out/lib.rlib']);
    assert.deepEqual(r.outputFileSymlinks.map((s) => s.path), ['out/alias']);
    assert.deepEqual(r.outputSymlinks.map((s) => s.path), ['out/alias']);
    assert.deepEqual(r.outputDirectories.map((d) => d.path), ['out/dir']);
  });

  it('creates the parent directories of every output before the command runs', async () => {
    const command = re.Command.create({ workingDirectory: 'pkg', outputFiles: ['gen/deep/x.rs'], outputDirectories: ['gen/tree/d'] });
    await collector.prepare(root, collector.specs(command));
    assert.ok((await fsp.stat(path.join(root, 'pkg/gen/deep'))).isDirectory());
    assert.ok((await fsp.stat(path.join(root, 'pkg/gen/tree'))).isDirectory());
    await assert.rejects(fsp.stat(path.join(root, 'pkg/gen/tree/d')), { code: 'ENOENT' });
  });

  it('refuses outputs that leave the input root, lexically or through a symlinked parent', async () => {
    assert.throws(() => collector.specs(re.Command.create({ workingDirectory: 'pkg', outputPaths: ['../../etc/passwd'] })), (e: StatusError) => e.code === Code.INVALID_ARGUMENT);
    assert.throws(() => collector.specs(re.Command.create({ outputFiles: ['/etc/passwd'] })), (e: StatusError) => e.code === Code.INVALID_ARGUMENT);
    await fsp.symlink('/etc', path.join(root, 'escape'));
    const specs = collector.specs(re.Command.create({ outputPaths: ['escape/passwd'] }));
    await assert.rejects(collector.collect(store, SHA256, root, specs, false, 0), (e: StatusError) => e.code === Code.INVALID_ARGUMENT && /outside the input root/.test(e.message));
  });
});
