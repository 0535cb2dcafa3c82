import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompletenessCheckingActionCache } from '../../src/actioncache/completeness-checking-action-cache';
import { MemoryActionCache } from '../../src/actioncache/memory-action-cache';
import { putBlob } from '../../src/blobstore/blob-io';
import { MemoryBlobStore } from '../../src/blobstore/memory/memory-blob-store';
import { encode, re } from '../../src/proto';
import { blob, Blob, CountingBlobStore } from '../blobstore/blob-store-fixtures';

/** An action whose result references an output file, stdout, and an output directory (Tree) with a file in a subdirectory. */
function scenario() {
  const outFile = blob('output file');
  const stdout = blob('stdout text');
  const rootFile = blob('file at the tree root');
  const nestedFile = blob('file in a subdirectory');
  const child = re.Directory.create({ files: [{ name: 'nested.txt', digest: nestedFile.digest.toProto() }] });
  const childBlob = blob(encode(re.Directory, child));
  const tree = re.Tree.create({
    root: re.Directory.create({ files: [{ name: 'root.txt', digest: rootFile.digest.toProto() }], directories: [{ name: 'sub', digest: childBlob.digest.toProto() }] }),
    children: [child],
  });
  const treeBlob = blob(encode(re.Tree, tree));
  const result = re.ActionResult.create({
    outputFiles: [{ path: 'out/file', digest: outFile.digest.toProto() }],
    outputDirectories: [{ path: 'out/dir', treeDigest: treeBlob.digest.toProto() }],
    stdoutDigest: stdout.digest.toProto(),
    exitCode: 0,
  });
  return { outFile, stdout, rootFile, nestedFile, treeBlob, result, action: blob('the action').digest };
}

async function setup(present: (s: ReturnType<typeof scenario>) => Blob[]) {
  const s = scenario();
  const cas = new CountingBlobStore(new MemoryBlobStore(1 << 20));
  for (const b of present(s)) await putBlob(cas, b.digest, b.data);
  const ac = new CompletenessCheckingActionCache(new MemoryActionCache(1 << 20), cas);
  await ac.put(s.action, s.result);
  return { s, cas, ac };
}

const all = (s: ReturnType<typeof scenario>) => [s.outFile, s.stdout, s.rootFile, s.nestedFile, s.treeBlob];

describe('CompletenessCheckingActionCache', () => {
  it('serves an entry whose every referenced blob is in the CAS, refreshing them all in one findMissing', async () => {
    const { s, cas, ac } = await setup(all);
    cas.findMissingCalls = 0;
    const got = await ac.get(s.action);
    assert.equal(got?.outputFiles[0].path, 'out/file');
    assert.equal(cas.findMissingCalls, 1);
    assert.deepEqual(cas.findMissingDigests.map((d) => d.key).sort(), all(s).map((b) => b.digest.key).sort());
  });

  for (const [what, pick] of [
    ['an output file', (s: ReturnType<typeof scenario>) => s.outFile],
    ['the stdout blob', (s: ReturnType<typeof scenario>) => s.stdout],
    ['a file at the root of an output directory', (s: ReturnType<typeof scenario>) => s.rootFile],
    ['a file in a subdirectory of an output directory', (s: ReturnType<typeof scenario>) => s.nestedFile],
    ['the Tree of an output directory', (s: ReturnType<typeof scenario>) => s.treeBlob],
  ] as const) {
    it(`reports a miss when ${what} is missing from the CAS`, async () => {
      const { s, ac } = await setup((sc) => all(sc).filter((b) => b !== pick(sc)));
      assert.equal(await ac.get(s.action), undefined);
    });
  }

  it('reports a miss for an action never stored', async () => {
    const { ac } = await setup(all);
    assert.equal(await ac.get(blob('another action').digest), undefined);
  });
});
