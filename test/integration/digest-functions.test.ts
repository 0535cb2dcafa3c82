import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { BLAKE3, DigestFunction, SHA1, SHA256, SHA384, SHA512 } from '../../src/digest/digest-function';
import { re, REv2 } from '../../src/proto';
import { bytes, digestProto, num } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer } from '../helpers/test-server';
import { digestOf, ExecutionFixture, operations, responseOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

const V = re.DigestFunction.Value;
const off = (n: number) => Long.fromNumber(n);
/** The resource-name path of a digest: BLAKE3 carries its function segment (REAPI 2.3), the SHA family does not. */
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

  it('lists every function in Capabilities, with SHA-256 as the deprecated single execution value', async () => {
    const caps = await c().capabilities.getCapabilities({});
    assert.deepEqual([...(caps.cacheCapabilities!.digestFunctions ?? [])].sort(), [V.SHA256, V.SHA1, V.SHA384, V.SHA512, V.BLAKE3].sort());
    assert.deepEqual([...(caps.executionCapabilities!.digestFunctions ?? [])].sort(), [V.SHA256, V.SHA1, V.SHA384, V.SHA512, V.BLAKE3].sort());
    assert.equal(caps.executionCapabilities!.digestFunction, V.SHA256);
  });

  for (const fn of [SHA256, SHA1, SHA384, SHA512, BLAKE3]) {
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
      await expectStatus(c().cas.findMissingBlobs({ digestFunction: V.SHA256TREE, blobDigests: [d] }), Code.INVALID_ARGUMENT, 'sha256tree', 'not supported');
      await expectStatus(c().byteStream.read(`blobs/md6/${d.hash}/1`), Code.INVALID_ARGUMENT, 'md6');
      await expectStatus(c().byteStream.read(`blobs/sha256tree/${d.hash}/1`), Code.INVALID_ARGUMENT, 'sha256tree', 'not supported');
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
