import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { putBlob, readBlob } from '../../../src/blobstore/blob-io';
import { parseActionCacheConfig, parseBlobStoreConfig } from '../../../src/blobstore/configuration/blob-store-config';
import { newActionCache, newBlobStore } from '../../../src/blobstore/configuration/new-blob-store';
import { ReadCachingBlobStore } from '../../../src/blobstore/read-caching/read-caching-blob-store';
import { S3ActionCache } from '../../../src/actioncache/s3-action-cache';
import { ConfigError } from '../../../src/config/config-reader';
import { silentLogger } from '../../../src/logging/logger';
import { re } from '../../../src/proto';
import { blob, tempDir } from '../blob-store-fixtures';
import { S3rverFixture } from './s3rver-fixture';

describe('S3 and read-caching configuration', () => {
  let s3rver: S3rverFixture;
  let dir: string;
  before(async () => {
    dir = await tempDir('s3rver-config');
    s3rver = new S3rverFixture(dir);
    await s3rver.start();
  });
  after(async () => {
    await s3rver.kill();
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('parses an S3 store with defaults and normalises the prefix', () => {
    const c = parseBlobStoreConfig({ s3: { endpoint: 'http://127.0.0.1:9000', bucket: 'cas', prefix: 'prod', listRefresh: '30s', partSize: '8MiB' } }, 'cas', '/base');
    assert.deepEqual(c, {
      s3: { endpoint: 'http://127.0.0.1:9000', bucket: 'cas', prefix: 'prod/', region: undefined, accessKey: undefined, secretKey: undefined, requestTimeoutMs: 30_000, listRefreshMs: 30_000, partSize: 8 * 1024 * 1024, confirmMissing: false },
    });
  });

  it('rejects unknown keys, a missing bucket, a bad endpoint and parts below S3’s 5 MiB minimum, naming the path', () => {
    const bad: [unknown, RegExp][] = [
      [{ s3: { endpoint: 'http://h:1', bucket: 'b', buckt: 'x' } }, /cas\.s3: unknown key "buckt"/],
      [{ s3: { endpoint: 'http://h:1' } }, /cas\.s3: "endpoint" .* and "bucket" are required/],
      [{ s3: { endpoint: 'h:1', bucket: 'b' } }, /cas\.s3\.endpoint/],
      [{ s3: { endpoint: 'http://h:1', bucket: 'b', partSize: '1mb' } }, /cas\.s3\.partSize/],
      [{ readCaching: { fast: { memory: { maxBytes: '1mb' } } } }, /cas\.readCaching: "fast" and "slow" are required/],
      [{ readCaching: { fast: { memory: { maxBytes: '1mb' } }, slow: { s3: { endpoint: 'http://h:1', bucket: 'b', listRefresh: '5s', extra: 1 } } } }, /cas\.readCaching\.slow\.s3: unknown key "extra"/],
    ];
    for (const [v, message] of bad) assert.throws(() => parseBlobStoreConfig(v, 'cas', '/'), (err: Error) => err instanceof ConfigError && message.test(err.message));
    assert.throws(() => parseActionCacheConfig({ s3: { endpoint: 'http://h:1', bucket: 'b', listRefresh: '5s' } }, 'ac', '/'), /ac\.s3: unknown key "listRefresh"/);
  });

  it('builds a disk tier over S3 from config, with credentials from the environment', async () => {
    const fast = await tempDir('config-fast');
    try {
      const config = parseBlobStoreConfig(
        { readCaching: { fast: { filesystem: { path: fast, maxBytes: '10mb' } }, slow: { s3: { endpoint: s3rver.endpoint, bucket: 'test', prefix: 'cfg' } } } },
        'cas',
        '/',
      );
      const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
      const store = await newBlobStore(config, silentLogger(), env);
      assert.ok(store instanceof ReadCachingBlobStore);
      const b = blob('configured');
      await putBlob(store, b.digest, b.data);
      assert.deepEqual(await readBlob(store, b.digest), b.data);
      await s3rver.location().client.statObject('test', `cfg/cas/${b.digest.key}`);

      const ac = await newActionCache(parseActionCacheConfig({ s3: { endpoint: s3rver.endpoint, bucket: 'test', accessKey: 'S3RVER', secretKey: 'S3RVER' } }, 'ac', '/'), {});
      assert.ok(ac instanceof S3ActionCache);
      await ac.put(b.digest, re.ActionResult.create({ exitCode: 7 }));
      assert.equal((await ac.get(b.digest))?.exitCode, 7);

      await assert.rejects(newBlobStore(config, silentLogger(), {}), /AWS_ACCESS_KEY_ID/);
    } finally {
      await fsp.rm(fast, { recursive: true, force: true });
    }
  });
});
