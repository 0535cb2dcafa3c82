import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Long from 'long';
import { re } from '../../src/proto';
import { blobOf, bytes, num, randomBlob, readName, TestBlob, writeName } from '../helpers/blobs';
import { Code, expectStatus } from '../helpers/clients';
import { startTestServer, TestServer, twoInstances } from '../helpers/test-server';

describe('Instances', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ instances: twoInstances });
  });
  after(() => server.close());

  const missingIn = async (instanceName: string, b: TestBlob) =>
    (await server.clients.cas.findMissingBlobs({ instanceName, blobDigests: [b.digest] })).missingBlobDigests.length === 1;

  it('keeps a blob uploaded by batch to one instance invisible to the other', async () => {
    const blob = randomBlob(500);
    const up = await server.clients.cas.batchUpdateBlobs({ instanceName: 'main', requests: [{ digest: blob.digest, data: blob.data }] });
    assert.equal(up.responses[0].status?.code ?? 0, Code.OK);
    assert.equal(await missingIn('main', blob), false);
    assert.equal(await missingIn('team/b', blob), true);
    const read = await server.clients.cas.batchReadBlobs({ instanceName: 'team/b', digests: [blob.digest] });
    assert.equal(read.responses[0].status?.code, Code.NOT_FOUND);
  });

  it('keeps a blob written by ByteStream to a nested instance name out of the other', async () => {
    const blob = randomBlob(70_000);
    const res = await server.clients.byteStream.write([{ resourceName: writeName(blob, 'team/b'), writeOffset: Long.ZERO, data: blob.data, finishWrite: true }]);
    assert.equal(num(res.committedSize), blob.size);
    assert.ok((await server.clients.byteStream.read(readName(blob, 'team/b'))).equals(blob.data));
    assert.equal(await missingIn('main', blob), true);
    await expectStatus(server.clients.byteStream.read(readName(blob, 'main')), Code.NOT_FOUND, blob.hash);
  });

  it('keeps action cache entries apart', async () => {
    const action = randomBlob(40).digest;
    await server.clients.ac.updateActionResult({ instanceName: 'main', actionDigest: action, actionResult: { exitCode: 7 } });
    assert.equal((await server.clients.ac.getActionResult({ instanceName: 'main', actionDigest: action })).exitCode, 7);
    await expectStatus(server.clients.ac.getActionResult({ instanceName: 'team/b', actionDigest: action }), Code.NOT_FOUND);
  });

  it('verifies uploads to the in-memory instance too', async () => {
    const blob = blobOf('real bytes');
    const res = await server.clients.cas.batchUpdateBlobs({ instanceName: 'team/b', requests: [{ digest: blob.digest, data: Buffer.from('fake bytes') }] });
    assert.equal(res.responses[0].status?.code, Code.INVALID_ARGUMENT);
    assert.match(res.responses[0].status?.message ?? '', new RegExp(blob.hash));
    assert.equal(await missingIn('team/b', blob), true);
  });

  it('serves the empty blob in every instance', async () => {
    for (const instanceName of ['main', 'team/b']) {
      assert.equal(await missingIn(instanceName, blobOf('')), false);
      assert.equal((await server.clients.byteStream.read(readName(blobOf(''), instanceName))).byteLength, 0);
    }
  });

  describe('an unknown instance name', () => {
    const blob = blobOf('x');
    const c = () => server.clients;
    const calls: [string, () => Promise<unknown>][] = [
      ['GetCapabilities', () => c().capabilities.getCapabilities({ instanceName: 'ghost' })],
      ['FindMissingBlobs', () => c().cas.findMissingBlobs({ instanceName: 'ghost', blobDigests: [blob.digest] })],
      ['BatchUpdateBlobs', () => c().cas.batchUpdateBlobs({ instanceName: 'ghost', requests: [{ digest: blob.digest, data: blob.data }] })],
      ['BatchReadBlobs', () => c().cas.batchReadBlobs({ instanceName: 'ghost', digests: [blob.digest] })],
      ['GetTree', () => c().cas.getTree({ instanceName: 'ghost', rootDigest: blob.digest })],
      ['GetActionResult', () => c().ac.getActionResult({ instanceName: 'ghost', actionDigest: blob.digest })],
      ['UpdateActionResult', () => c().ac.updateActionResult({ instanceName: 'ghost', actionDigest: blob.digest, actionResult: {} })],
      ['ByteStream.Read', () => c().byteStream.read(readName(blob, 'ghost'))],
      ['ByteStream.Write', () => c().byteStream.write([{ resourceName: writeName(blob, 'ghost'), writeOffset: Long.ZERO, data: blob.data, finishWrite: true }])],
      ['ByteStream.QueryWriteStatus', () => c().byteStream.queryWriteStatus({ resourceName: writeName(blob, 'ghost') })],
    ];
    for (const [rpc, call] of calls) {
      it(`is INVALID_ARGUMENT naming it in ${rpc}`, async () => {
        await expectStatus(call(), Code.INVALID_ARGUMENT, '"ghost"', '"main"');
      });
    }

    it('is INVALID_ARGUMENT for the default "" instance when the server does not serve it', async () => {
      await expectStatus(c().cas.findMissingBlobs({ blobDigests: [blob.digest] }), Code.INVALID_ARGUMENT, 'unknown instance name ""');
    });
  });

  it('rejects a digest_function the instance does not enable', async () => {
    await expectStatus(
      server.clients.cas.findMissingBlobs({ instanceName: 'main', digestFunction: re.DigestFunction.Value.SHA1, blobDigests: [] }),
      Code.INVALID_ARGUMENT,
      'digest_function',
      'sha256',
    );
    await expectStatus(server.clients.byteStream.read(`main/blobs/blake3/${blobOf('x').hash}/1`), Code.INVALID_ARGUMENT, 'blake3');
  });

  it('reads back what it stored byte for byte in both instances via batch', async () => {
    const blob = randomBlob(1234);
    for (const instanceName of ['main', 'team/b']) {
      await server.clients.cas.batchUpdateBlobs({ instanceName, requests: [{ digest: blob.digest, data: blob.data }] });
      const read = await server.clients.cas.batchReadBlobs({ instanceName, digests: [blob.digest] });
      assert.ok(bytes(read.responses[0].data).equals(blob.data));
    }
  });
});
