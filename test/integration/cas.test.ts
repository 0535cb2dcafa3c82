import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REv2 } from '../../src/proto';
import { blobOf, bytes, directoryBlob, EMPTY_HASH, num, randomBlob, TestBlob } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';

const keyOf = (d: REv2.IDigest | null | undefined) => `${d?.hash}/${num(d?.sizeBytes)}`;

describe('ContentAddressableStorage', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const upload = async (...blobs: TestBlob[]) => {
    const res = await server.clients.cas.batchUpdateBlobs({ instanceName: '', requests: blobs.map((b) => ({ digest: b.digest, data: b.data })) });
    for (const r of res.responses) assert.equal(r.status?.code ?? 0, Code.OK, r.status?.message ?? '');
  };

  describe('FindMissingBlobs', () => {
    it('reports exactly the blobs that were never uploaded, and nothing once they are', async () => {
      const [a, b, c] = [randomBlob(10), randomBlob(2000), randomBlob(1)];
      const before = await server.clients.cas.findMissingBlobs({ blobDigests: [a.digest, b.digest, c.digest] });
      assert.deepEqual(before.missingBlobDigests.map(keyOf).sort(), [a, b, c].map((x) => keyOf(x.digest)).sort());
      await upload(a, c);
      const after = await server.clients.cas.findMissingBlobs({ blobDigests: [a.digest, b.digest, c.digest] });
      assert.deepEqual(after.missingBlobDigests.map(keyOf), [keyOf(b.digest)]);
    });

    it('never reports the empty blob missing, uploaded or not', async () => {
      const res = await server.clients.cas.findMissingBlobs({ blobDigests: [blobOf('').digest] });
      assert.deepEqual(res.missingBlobDigests, []);
    });

    it('answers an empty request with an empty list', async () => {
      const res = await server.clients.cas.findMissingBlobs({ blobDigests: [] });
      assert.deepEqual(res.missingBlobDigests, []);
    });
  });

  describe('BatchUpdateBlobs and BatchReadBlobs', () => {
    it('round-trips several blobs in one batch, each with an OK status', async () => {
      const blobs = [randomBlob(1), randomBlob(100), randomBlob(64 * 1024), blobOf('hello world\n')];
      const up = await server.clients.cas.batchUpdateBlobs({ requests: blobs.map((b) => ({ digest: b.digest, data: b.data })) });
      assert.deepEqual(up.responses.map((r) => keyOf(r.digest)), blobs.map((b) => keyOf(b.digest)));
      assert.deepEqual(up.responses.map((r) => r.status?.code ?? 0), [0, 0, 0, 0]);

      const read = await server.clients.cas.batchReadBlobs({ digests: blobs.map((b) => b.digest) });
      assert.equal(read.responses.length, blobs.length);
      const byKey = new Map(read.responses.map((r) => [keyOf(r.digest), r]));
      for (const b of blobs) {
        const r = byKey.get(keyOf(b.digest));
        assert.equal(r?.status?.code ?? 0, Code.OK);
        assert.ok(bytes(r!.data).equals(b.data), `bytes of ${b.hash} differ`);
      }
    });

    it('accepts a blob uploaded twice (idempotent) and the empty blob', async () => {
      const a = randomBlob(300);
      await upload(a, a, blobOf(''));
      await upload(a);
      const read = await server.clients.cas.batchReadBlobs({ digests: [a.digest] });
      assert.ok(bytes(read.responses[0].data).equals(a.data));
    });

    it('reads the empty blob without it ever being uploaded', async () => {
      const read = await server.clients.cas.batchReadBlobs({ digests: [blobOf('').digest] });
      assert.equal(read.responses[0].status?.code ?? 0, Code.OK);
      assert.equal(read.responses[0].digest?.hash, EMPTY_HASH);
      assert.equal(bytes(read.responses[0].data).byteLength, 0);
    });

    it('answers a missing blob with a per-item NOT_FOUND while the others are returned', async () => {
      const present = randomBlob(50);
      const missing = randomBlob(51);
      await upload(present);
      const read = await server.clients.cas.batchReadBlobs({ digests: [missing.digest, present.digest] });
      assert.equal(read.responses[0].status?.code, Code.NOT_FOUND);
      assert.match(read.responses[0].status?.message ?? '', new RegExp(missing.hash));
      assert.equal(read.responses[1].status?.code ?? 0, Code.OK);
      assert.ok(bytes(read.responses[1].data).equals(present.data));
    });
  });

  describe('GetTree', () => {
    // root ─┬─ a ── c ── e
    //       └─ b ─┬─ c (shared: returned once)
    //             └─ d
    const file = (name: string) => ({ name, digest: blobOf(name).digest, isExecutable: false });
    const e = directoryBlob({ files: [file('e.txt')] });
    const d = directoryBlob({ files: [file('d.txt')] });
    const c = directoryBlob({ files: [file('c.txt')], directories: [{ name: 'e', digest: e.digest }] });
    const b = directoryBlob({ directories: [{ name: 'c', digest: c.digest }, { name: 'd', digest: d.digest }] });
    const a = directoryBlob({ directories: [{ name: 'c', digest: c.digest }] });
    const root = directoryBlob({ files: [file('root.txt')], directories: [{ name: 'a', digest: a.digest }, { name: 'b', digest: b.digest }] });
    const all = [root, a, b, c, d, e];
    const hashOf = (dir: REv2.IDirectory) => directoryBlob(dir).hash;

    before(() => upload(...all));

    it('returns every distinct directory once, root first, in one response by default', async () => {
      const res = await server.clients.cas.getTree({ rootDigest: root.digest });
      const dirs = res.flatMap((r) => r.directories.map(hashOf));
      assert.equal(dirs[0], root.hash);
      assert.deepEqual([...dirs].sort(), all.map((x) => x.hash).sort());
      assert.equal(res.at(-1)?.nextPageToken, '');
    });

    it('pages by page_size with a token on every page but the last', async () => {
      const res = await server.clients.cas.getTree({ rootDigest: root.digest, pageSize: 2 });
      assert.deepEqual(res.map((r) => r.directories.length), [2, 2, 2]);
      assert.ok(res[0].nextPageToken && res[1].nextPageToken, 'non-final pages carry a page token');
      assert.equal(res[2].nextPageToken, '');
      const dirs = res.flatMap((r) => r.directories.map(hashOf));
      assert.deepEqual([...dirs].sort(), all.map((x) => x.hash).sort());
    });

    it('resumes from a page token and returns exactly the directories not yet seen', async () => {
      const first = await server.clients.cas.getTree({ rootDigest: root.digest, pageSize: 4 });
      const firstPage = first[0].directories.map(hashOf);
      assert.equal(firstPage.length, 4);
      const rest = await server.clients.cas.getTree({ rootDigest: root.digest, pageSize: 4, pageToken: first[0].nextPageToken });
      const restDirs = rest.flatMap((r) => r.directories.map(hashOf));
      assert.equal(rest.at(-1)?.nextPageToken, '');
      assert.deepEqual([...firstPage, ...restDirs].sort(), all.map((x) => x.hash).sort());
    });

    it('returns the single directory of a leaf tree', async () => {
      const res = await server.clients.cas.getTree({ rootDigest: e.digest, pageSize: 10 });
      assert.deepEqual(res.flatMap((r) => r.directories.map(hashOf)), [e.hash]);
    });

    it('answers a missing root with NOT_FOUND naming it', async () => {
      const missing = directoryBlob({ files: [file('nowhere')] });
      await expectStatus(server.clients.cas.getTree({ rootDigest: missing.digest }), Code.NOT_FOUND, missing.hash);
    });

    it('returns the portion of the tree that is present when a subdirectory is missing', async () => {
      const gone = directoryBlob({ files: [file('gone.txt')] });
      const partial = directoryBlob({ directories: [{ name: 'gone', digest: gone.digest }, { name: 'd', digest: d.digest }] });
      await upload(partial);
      const res = await server.clients.cas.getTree({ rootDigest: partial.digest });
      assert.deepEqual(res.flatMap((r) => r.directories.map(hashOf)), [partial.hash, d.hash]);
    });

    it('rejects a root blob that is not a Directory message with INVALID_ARGUMENT naming it', async () => {
      const junk = blobOf(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      await upload(junk);
      await expectStatus(server.clients.cas.getTree({ rootDigest: junk.digest }), Code.INVALID_ARGUMENT, junk.hash, 'not a Directory');
    });

    it('rejects a page token it did not issue with INVALID_ARGUMENT', async () => {
      await expectStatus(server.clients.cas.getTree({ rootDigest: root.digest, pageToken: 'not-a-token' }), Code.INVALID_ARGUMENT, 'page_token', 'not-a-token');
    });

    it('rejects a negative page_size with INVALID_ARGUMENT', async () => {
      await expectStatus(server.clients.cas.getTree({ rootDigest: root.digest, pageSize: -1 }), Code.INVALID_ARGUMENT, 'page_size');
    });
  });
});
