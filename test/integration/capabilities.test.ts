import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { re } from '../../src/proto';
import { Code, expectStatus } from '../helpers/clients';
import { digestProto, num } from '../helpers/blobs';
import { startTestServer, TestServer } from '../helpers/test-server';

describe('Capabilities', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { maxBatchTotalSizeBytes: 2 * 1024 * 1024 } });
  });
  after(() => server.close());

  it('advertises what Bazel checks: SHA256, AC updates, API 2.0 and the batch limit', async () => {
    const caps = await server.clients.capabilities.getCapabilities({ instanceName: '' });
    const cache = caps.cacheCapabilities!;
    assert.equal(cache.digestFunctions?.[0], re.DigestFunction.Value.SHA256, 'the default comes first');
    assert.equal(cache.actionCacheUpdateCapabilities?.updateEnabled, true);
    assert.equal(num(cache.maxBatchTotalSizeBytes), 2 * 1024 * 1024);
    assert.deepEqual(cache.supportedCompressors, [re.Compressor.Value.ZSTD]);
    assert.equal(caps.executionCapabilities?.digestFunction, re.DigestFunction.Value.SHA256);
    const version = (v: { major?: number | null; minor?: number | null } | null | undefined) => (v?.major ?? 0) * 1000 + (v?.minor ?? 0);
    assert.ok(version(caps.lowApiVersion) <= 2000, 'low_api_version must be <= 2.0');
    assert.ok(version(caps.highApiVersion) >= 2000, 'high_api_version must be >= 2.0');
  });

  it('reports execution as disabled when only the cache services run', async () => {
    const caps = await server.clients.capabilities.getCapabilities({ instanceName: '' });
    assert.equal(caps.executionCapabilities?.execEnabled, false);
  });

  it('rejects an unknown instance with INVALID_ARGUMENT naming it', async () => {
    await expectStatus(server.clients.capabilities.getCapabilities({ instanceName: 'nope' }), Code.INVALID_ARGUMENT, '"nope"');
  });
});

describe('Capabilities with AC updates disabled', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ config: { acUpdateEnabled: false } });
  });
  after(() => server.close());

  it('says so, and UpdateActionResult is refused with PERMISSION_DENIED', async () => {
    const caps = await server.clients.capabilities.getCapabilities({});
    assert.equal(caps.cacheCapabilities?.actionCacheUpdateCapabilities?.updateEnabled, false);
    const action = digestProto('a'.repeat(64), 3);
    await expectStatus(server.clients.ac.updateActionResult({ actionDigest: action, actionResult: {} }), Code.PERMISSION_DENIED, 'does not accept action results');
  });
});
