import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { BLAKE3, DigestFunction, SHA1, SHA256, SHA256TREE, SHA384, SHA512 } from '../../src/digest/digest-function';
import { re, REv2 } from '../../src/proto';
import { bytes, digestProto, num } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';
import { digestOf, ExecutionFixture, operations, responseOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

const V = re.DigestFunction.Value;
const off = (n: number) => Long.fromNumber(n);
/** The resource-name path of a digest: BLAKE3 and SHA256TREE carry their function segment (REAPI 2.3), the others do not. */
const pathOf = (fn: DigestFunction, d: REv2.IDigest) => `${fn.inferredFromLength ? '' : `${fn.name}/`}${d.hash}/${num(d.sizeBytes)}`;

describe('digest functions per request', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());
  const c = () => server.clients;

  it('computes BLAKE3 as the reference vectors say', () => {
    // From the BLAKE3 reference implementation's test vectors (input: empty; "abc").
    assert.equal(BLAKE3.emptyHash, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    assert.equal(BLAKE3.hashHex(Buffer.from('abc')), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    const streamed = BLAKE3.createHash().update(Buffer.from('a')).update(Buffer.from('bc')).digest('hex');
    assert.equal(streamed, BLAKE3.hashHex(Buffer.from('abc')));
  });

  it('computes SHA256TREE as the reference vectors say, in one call and streamed in odd pieces', () => {
    // Buildbarn's vectors for the REAPI definition (bb-storage pkg/digest/sha256tree/hasher_test.go): byte i is i % 251.
    const input = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));
    const vectors: [number, string][] = [
      [1025, '36c0998b21839ef74300b9de47d96d1f62323dc81f2b4231e98ce70cd6ffe750'],
      [2048, 'b584996386f01793751c5cf0c39561f51b7e9924b818943b3cb2f6928cea0fa9'],
      [2049, '7318d2029b0392edf4cf109edb5a086b4bdadbb7950f710a1483eb881d9e5d44'],
      [3072, 'dfc61c0a041f79d55d53bfe31c6cda7df77fdc8e6fbac1143d70b7144fdf6937'],
      [3073, '517d20c0e5835f060a1bd6388ed68574f63424bdac2a2c3a35a5c2ef859d8fe2'],
      [4096, '2f72bb93880012168c027f6781527ff08177c7c8dccb443f4d2c6389c186633d'],
      [4097, 'c3ec942c1b8f4580320d3a06bcf4f8fe1f5db2be797ab67061ea4c2a95f208f2'],
      [5120, 'a76924f6535b4b473377c285ec27acc84cc58e95ab1e9e29b1bb6a4a3fb9d0b3'],
      [5121, '98f987c3e9fc057a70873715b679b89a663d0df806859b6ce73f8379b06a10ff'],
      [6144, '372f988af412041b680ab236feef45626380062beb7514bbf93607aedd28fc9a'],
      [6145, '6dc4b78efd770453417b2ffdc74b27054793efe6122ecd7ee098670ed7c4651c'],
      [7168, '43686312c0cabccf9d5ad509efa096e3d743c63c7a51f122473c57949e4dd9a0'],
      [7169, 'ad729297ab36cd099665b27c4247474a5518e4cd0be443f5f31d95edda08429b'],
      [8192, 'fcfdde6fe59178e17708c5ba647919c3b141a44c9d1970782e597e1465266932'],
      [8193, '113c6e3a2452f388b6fad13dfab66ee0bff597a0a9a517ad8d0165f7190b603e'],
      [16384, 'a7a10149a8cb00be537000560edb83b196306b780b72fad8af218f369f75fc19'],
      [31744, '2cdf7662636c173d4b236f6ea03bf84c65e7f6487b53b2a61c420e26cf8a98c7'],
      [102400, '0668d69e5331840d2f1823d717b7b3f5d1fdc8a09504cddb692b87ff83d50e5f'],
    ];
    for (const [n, hex] of vectors) {
      const data = input(n);
      assert.equal(SHA256TREE.hashHex(data), hex, `${n} bytes`);
      const h = SHA256TREE.createHash();
      for (let p = 0; p < n; p += 1000) h.update(data.subarray(p, p + 1000)); // pieces that straddle the 1 KiB chunks
      assert.equal(h.digest('hex'), hex, `${n} bytes streamed`);
    }
    // Up to 1 KiB it is plain SHA-256 (and so is the empty blob).
    for (const n of [0, 1, 1000, 1024]) assert.equal(SHA256TREE.hashHex(input(n)), SHA256.hashHex(input(n)), `${n} bytes`);
    assert.equal(SHA256TREE.createHash().update(input(1024)).digest('hex'), SHA256.hashHex(input(1024)), 'a full chunk with nothing after it is not a tree');
  });

  it('lists every function in Capabilities, with SHA-256 as the deprecated single execution value', async () => {
    const caps = await c().capabilities.getCapabilities({});
    const all = [V.SHA256, V.SHA1, V.SHA384, V.SHA512, V.BLAKE3, V.SHA256TREE].sort();
    assert.deepEqual([...(caps.cacheCapabilities!.digestFunctions ?? [])].sort(), all);
    assert.deepEqual([...(caps.executionCapabilities!.digestFunctions ?? [])].sort(), all);
    assert.equal(caps.executionCapabilities!.digestFunction, V.SHA256);
  });

  for (const fn of [SHA256, SHA1, SHA384, SHA512, BLAKE3, SHA256TREE]) {
    it(`stores, finds and reads ${fn.name} blobs through the Batch APIs and ByteStream`, async () => {
      const small = randomBytes(1000);
      const d = digestOf(small, fn);
      const upd = await c().cas.batchUpdateBlobs({ digestFunction: fn.id, requests: [{ digest: d, data: small }] });
      assert.equal(upd.responses[0].status?.code ?? 0, 0, upd.responses[0].status?.message ?? '');
      const missing = await c().cas.findMissingBlobs({ digestFunction: fn.id, blobDigests: [d, digestOf(randomBytes(8), fn)] });
      assert.equal(missing.missingBlobDigests.length, 1);
      const read = await c().cas.batchReadBlobs({ digestFunction: fn.id, digests: [d] });
      assert.ok(bytes(read.responses[0].data).equals(small));

      const large = randomBytes(1024 * 1024 + 3);
      const ld = digestOf(large, fn);
      const res = await c().byteStream.write([{ resourceName: `uploads/7c4e1f0a-0000-4000-8000-${fn.id.toString().padStart(12, '0')}/blobs/${pathOf(fn, ld)}`, writeOffset: off(0), data: large, finishWrite: true }]);
      assert.equal(num(res.committedSize), large.byteLength);
      assert.ok((await c().byteStream.read(`blobs/${pathOf(fn, ld)}`)).equals(large));
    });
  }

  it('infers SHA-384 and SHA-512 from the hash length when digest_function is absent', async () => {
    for (const fn of [SHA384, SHA512]) {
      const data = randomBytes(100);
      const d = digestOf(data, fn);
      const upd = await c().cas.batchUpdateBlobs({ requests: [{ digest: d, data }] });
      assert.equal(upd.responses[0].status?.code ?? 0, 0);
      assert.equal((await c().cas.findMissingBlobs({ blobDigests: [d] })).missingBlobDigests.length, 0);
    }
  });

  it('keeps action results per function: GetActionResult and UpdateActionResult hash with the requested one', async () => {
    const out = Buffer.from('output of a blake3 action');
    const outDigest = digestOf(out, BLAKE3);
    await c().cas.batchUpdateBlobs({ digestFunction: V.BLAKE3, requests: [{ digest: outDigest, data: out }] });
    const actionDigest = digestOf('a blake3 action', BLAKE3);
    const result = { outputFiles: [{ path: 'out', digest: outDigest }], exitCode: 0 };
    await c().ac.updateActionResult({ digestFunction: V.BLAKE3, actionDigest, actionResult: result });
    const got = await c().ac.getActionResult({ digestFunction: V.BLAKE3, actionDigest, inlineOutputFiles: ['out'] });
    assert.ok(bytes(got.outputFiles[0].contents).equals(out), 'the entry is complete: its BLAKE3 output is found in the CAS');
    // The same action hashed with the default SHA-256 is another key.
    await expectStatus(c().ac.getActionResult({ actionDigest: digestOf('a blake3 action', SHA256) }), Code.NOT_FOUND);
  });

  describe('bad input', () => {
    it('rejects a hash of the wrong length for the requested function with INVALID_ARGUMENT', async () => {
      const sha1 = digestOf('x', SHA1);
      await expectStatus(c().cas.findMissingBlobs({ digestFunction: V.BLAKE3, blobDigests: [sha1] }), Code.INVALID_ARGUMENT, 'blob_digests[0]', '64 lowercase hex', 'blake3');
      await expectStatus(c().cas.findMissingBlobs({ digestFunction: V.SHA512, blobDigests: [digestOf('x', SHA256)] }), Code.INVALID_ARGUMENT, '128 lowercase hex', 'sha512');
      await expectStatus(c().byteStream.read(`blobs/blake3/${sha1.hash}/1`), Code.INVALID_ARGUMENT, 'resource_name', 'blake3');
      const up = await c().cas.batchUpdateBlobs({ digestFunction: V.SHA384, requests: [{ digest: digestOf('x', SHA256), data: Buffer.from('x') }] });
      assert.equal(up.responses[0].status?.code, Code.INVALID_ARGUMENT);
    });

    it('rejects an unknown or unimplemented digest function with INVALID_ARGUMENT', async () => {
      const d = digestOf('x', SHA256);
      await expectStatus(c().cas.findMissingBlobs({ digestFunction: 42 as REv2.DigestFunction.Value, blobDigests: [d] }), Code.INVALID_ARGUMENT, 'digest_function 42', 'supported: sha256');
      await expectStatus(c().cas.findMissingBlobs({ digestFunction: V.MD5, blobDigests: [d] }), Code.INVALID_ARGUMENT, 'digest_function md5', 'not supported');
      await expectStatus(c().byteStream.read(`blobs/md6/${d.hash}/1`), Code.INVALID_ARGUMENT, 'md6');
      await expectStatus(c().byteStream.read(`blobs/murmur3/${d.hash.slice(0, 32)}/1`), Code.INVALID_ARGUMENT, 'murmur3', 'not supported');
      await expectStatus(c().capabilities.getCapabilities({ instanceName: 'nope' }), Code.INVALID_ARGUMENT, 'unknown instance');
    });

    it('rejects bytes that do not hash to the BLAKE3 digest and stores nothing', async () => {
      const data = randomBytes(5000);
      const wrong = { hash: createHash('sha256').update(data).digest('hex'), sizeBytes: Long.fromNumber(data.byteLength) };
      const up = await c().cas.batchUpdateBlobs({ digestFunction: V.BLAKE3, requests: [{ digest: wrong, data }] });
      assert.equal(up.responses[0].status?.code, Code.INVALID_ARGUMENT);
      assert.match(up.responses[0].status?.message ?? '', /blake3/);
      await expectStatus(
        c().byteStream.write([{ resourceName: `uploads/5b0e7d1c-0000-4000-8000-000000000001/blobs/blake3/${wrong.hash}/${data.byteLength}`, writeOffset: off(0), data, finishWrite: true }]),
        Code.INVALID_ARGUMENT,
        'blake3',
      );
      assert.equal((await c().cas.findMissingBlobs({ digestFunction: V.BLAKE3, blobDigests: [wrong] })).missingBlobDigests.length, 1);
    });
  });

  describe('an instance restricted to SHA-256', () => {
    let only: TestServer;
    before(async () => {
      only = await startTestServer({
        instances: () => ({ '': { digestFunction: 'sha256', digestFunctions: ['sha256'], cas: { memory: { maxBytes: 1 << 20 } }, ac: { memory: { maxBytes: 1 << 20 } } } }),
      });
    });
    after(() => only.close());

    it('advertises only SHA-256 and refuses BLAKE3 requests, naming what it accepts', async () => {
      const caps = await only.clients.capabilities.getCapabilities({});
      assert.deepEqual(caps.cacheCapabilities!.digestFunctions, [V.SHA256]);
      await expectStatus(only.clients.cas.findMissingBlobs({ digestFunction: V.BLAKE3, blobDigests: [digestOf('x', BLAKE3)] }), Code.INVALID_ARGUMENT, 'not enabled', 'enabled: sha256');
      await expectStatus(only.clients.byteStream.read(`blobs/blake3/${digestOf('x', BLAKE3).hash}/1`), Code.INVALID_ARGUMENT, 'not enabled');
    });
  });
});

describe('remote execution with BLAKE3', () => {
  let f: ExecutionFixture;
  before(async () => {
    f = await startExecutionFixture({}, BLAKE3);
    f.startWorker(['--slots', '1']);
    await waitForWorkers(f, 1);
  });
  after(() => f.close());

  it('hashes the Action, Command, inputs and outputs with BLAKE3 on the server and the worker', async () => {
    const [input] = await f.upload('input bytes\n');
    const digest = await f.action({
      args: ['/bin/sh', '-c', 'mkdir -p d && cat in.txt > d/copy.txt && printf tree > d/t.txt && printf out > out.txt'],
      inputRoot: { files: [{ name: 'in.txt', digest: input }] },
      outputPaths: ['out.txt', 'd'],
    });
    const ops = await operations(f.execute({ actionDigest: digest, digestFunction: V.BLAKE3 }));
    const md = re.ExecuteOperationMetadata.decode(ops.at(-1)!.metadata!.value!);
    assert.equal(md.digestFunction, V.BLAKE3);
    const res = responseOf(ops.at(-1)!);
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    const result = res.result as REv2.ActionResult;
    assert.deepEqual(result.outputFiles.find((o) => o.path === 'out.txt')!.digest, digestOf('out', BLAKE3));
    const dir = result.outputDirectories.find((o) => o.path === 'd')!;
    const tree = re.Tree.decode(bytes((await f.clients.cas.batchReadBlobs({ digestFunction: V.BLAKE3, digests: [dir.treeDigest!] })).responses[0].data));
    assert.deepEqual(Object.fromEntries((tree.root!.files ?? []).map((x) => [x.name, x.digest])), { 'copy.txt': digestOf('input bytes\n', BLAKE3), 't.txt': digestOf('tree', BLAKE3) });
    assert.equal(result.stdoutDigest?.hash, BLAKE3.emptyHash);

    const cached = responseOf((await operations(f.execute({ actionDigest: digest, digestFunction: V.BLAKE3 }))).at(-1)!);
    assert.equal(cached.cachedResult, true, 'the AC entry is complete under BLAKE3');
  });

  it('fails an action whose digest has the wrong length for BLAKE3', async () => {
    await expectStatus(operations(f.execute({ actionDigest: digestProto('ab'.repeat(20), 10), digestFunction: V.BLAKE3 })), Code.INVALID_ARGUMENT, 'action_digest', 'blake3');
  });
});

describe('remote execution with SHA256TREE', () => {
  let f: ExecutionFixture;
  before(async () => {
    f = await startExecutionFixture({}, SHA256TREE);
    f.startWorker(['--slots', '1']);
    await waitForWorkers(f, 1);
  });
  after(() => f.close());

  it('hashes inputs and outputs as trees on the worker, and keeps its results apart from the same Action under SHA-256', async () => {
    const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const [input] = await f.upload(big);
    assert.notEqual(input.hash, SHA256.hashHex(big), 'a 5000-byte blob is a tree');
    // Command and input root stay under 1 KiB, so the Action has the same digest under SHA-256 and SHA256TREE.
    const digest = await f.action({ args: ['/bin/sh', '-c', 'cat in.bin in.bin > out.bin'], inputRoot: { files: [{ name: 'in.bin', digest: input }] }, outputPaths: ['out.bin'] });
    const res = responseOf((await operations(f.execute({ actionDigest: digest, digestFunction: V.SHA256TREE }))).at(-1)!);
    assert.equal(res.status?.code ?? 0, 0, res.status?.message ?? '');
    const doubled = Buffer.concat([big, big]);
    assert.deepEqual(res.result!.outputFiles![0].digest, digestOf(doubled, SHA256TREE));
    const again = responseOf((await operations(f.execute({ actionDigest: digest, digestFunction: V.SHA256TREE }))).at(-1)!);
    assert.equal(again.cachedResult, true);

    // The same digest named as SHA-256 is another action, never served the SHA256TREE result. Its input names a
    // SHA256TREE hash, which no SHA-256 client could have computed: the worker's check of the download refuses it.
    const asSha256 = responseOf((await operations(f.execute({ actionDigest: digest, digestFunction: V.SHA256 }))).at(-1)!);
    assert.equal(asSha256.cachedResult, false);
    assert.equal(asSha256.status?.code, Code.INVALID_ARGUMENT, asSha256.status?.message ?? '');
    assert.match(asSha256.status?.message ?? '', /bytes hash to sha256/);
  });

  it('does not serve a SHA-256 result to a SHA256TREE client of the same small Action', async () => {
    const digest = await f.action({ args: ['/bin/sh', '-c', 'head -c 3000 /dev/zero > out.bin'], outputPaths: ['out.bin'], salt: 'shared' });
    const sha = responseOf((await operations(f.execute({ actionDigest: digest, digestFunction: V.SHA256 }))).at(-1)!);
    assert.equal(sha.status?.code ?? 0, 0, sha.status?.message ?? '');
    assert.deepEqual(sha.result!.outputFiles![0].digest, digestOf(Buffer.alloc(3000), SHA256));
    const tree = responseOf((await operations(f.execute({ actionDigest: digest, digestFunction: V.SHA256TREE }))).at(-1)!);
    assert.equal(tree.cachedResult, false, 'not the SHA-256 entry');
    assert.deepEqual(tree.result!.outputFiles![0].digest, digestOf(Buffer.alloc(3000), SHA256TREE));
    const treeAgain = responseOf((await operations(f.execute({ actionDigest: digest, digestFunction: V.SHA256TREE }))).at(-1)!);
    assert.equal(treeAgain.cachedResult, true);
    assert.deepEqual(treeAgain.result!.outputFiles![0].digest, digestOf(Buffer.alloc(3000), SHA256TREE));
    const got = await f.clients.ac.getActionResult({ actionDigest: digest, digestFunction: V.SHA256 });
    assert.deepEqual(got.outputFiles[0].digest, digestOf(Buffer.alloc(3000), SHA256), 'GetActionResult keeps them apart too');
  });
});
