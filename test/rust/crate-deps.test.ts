import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putBlob, readBlob } from '../../src/blobstore/blob-io';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { Digest } from '../../src/digest/digest';
import { SHA256 } from '../../src/digest/digest-function';
import { re } from '../../src/proto';
import { crateDeps, crateOf, externs } from '../../src/rust/crate-deps';
import { locateParamFile } from '../../src/rust/param-file';
import { classifyCommand } from '../../src/rust/rustc-command';
import { blobOf, directoryBlob } from '../helpers/blobs';

describe('externs', () => {
  it('reads --extern in both spellings, with options, and tells .rmeta from .rlib and proc-macros', () => {
    assert.deepEqual(
      externs(['--extern=regex=out/libregex-1.rmeta', '--extern', 'itoa=out/libitoa-2.rlib', '--extern=priv,noprelude:serde_derive=out/libserde_derive-3.so', '--extern', 'proc_macro', '-Ldependency=out']),
      [
        { crate: 'out/libregex-1', needs: 'rmeta' },
        { crate: 'out/libitoa-2', needs: 'rlib' },
        { crate: 'out/libserde_derive-3.so', needs: 'rlib' },
      ],
    );
  });
});

describe('crateDeps', () => {
  it('reads the edges from the param file in the input root, and names the crate by its output path', async () => {
    const cas = new MemoryBlobStore(1 << 20);
    const put = async (b: { data: Buffer; digest: unknown }) => putBlob(cas, Digest.fromProto(b.digest as never, SHA256), b.data);
    const params = blobOf('src/lib.rs\n--crate-name=textreport\n--extern=wordfreq=bazel-out/bin/lib/libwordfreq-9.rmeta\n--extern=itoa=bazel-out/bin/ext/libitoa-2.rmeta\n');
    const out = directoryBlob({ files: [{ name: 'libtextreport-5.rlib-0.params', digest: params.digest }] });
    const root = directoryBlob({ directories: [{ name: 'bazel-out', digest: out.digest }] });
    for (const b of [params, out, root]) await put(b);
    const command = re.Command.create({
      arguments: ['process_wrapper', '--rustc-quit-on-rmeta', 'true', '--', 'rustc', '@bazel-out/libtextreport-5.rlib-0.params'],
      outputFiles: ['bazel-out/libtextreport-5.rmeta'],
    });
    const rc = classifyCommand(command);
    const rootDigest = Digest.fromProto(root.digest, SHA256);
    const readDirectory = (d: Digest) => readBlob(cas, d);
    const found = await locateParamFile(readDirectory, '', rc, rootDigest);
    assert.equal(found?.digest.hash, params.hash);
    const emptyOut = directoryBlob({});
    const rootWithout = directoryBlob({ directories: [{ name: 'bazel-out', digest: emptyOut.digest }] });
    assert.equal(found?.rootWithout.hash, rootWithout.hash, 'the root as it would be without the param file');
    assert.equal(crateOf(rc, command), 'bazel-out/libtextreport-5');
    assert.deepEqual(await crateDeps(cas, command, found), [
      { crate: 'bazel-out/bin/lib/libwordfreq-9', needs: 'rmeta' },
      { crate: 'bazel-out/bin/ext/libitoa-2', needs: 'rmeta' },
    ]);
    assert.equal(await locateParamFile(readDirectory, '', { ...rc, paramFile: 'bazel-out/nope' }, rootDigest), undefined);
    assert.equal(await locateParamFile(readDirectory, '', { ...rc, paramFile: 'nope/x' }, rootDigest), undefined);
  });
});
