import type { Logger } from 'pino';
import { ActionCache } from '../../actioncache/action-cache';
import { FileActionCache } from '../../actioncache/file-action-cache';
import { MemoryActionCache } from '../../actioncache/memory-action-cache';
import { BlobStore } from '../blob-store';
import { ExistenceCachingBlobStore } from '../existence-caching/existence-caching-blob-store';
import { FilesystemBlobStore } from '../filesystem/filesystem-blob-store';
import { MemoryBlobStore } from '../memory/memory-blob-store';
import { ReadCachingBlobStore } from '../read-caching/read-caching-blob-store';
import { VerifyingBlobStore } from '../verifying/verifying-blob-store';
import { ActionCacheConfig, BlobStoreConfig } from './blob-store-config';
import { s3ConnectionOptions } from './s3-config';

/** The one recursive factory: builds the BlobStore tree exactly as the config describes it. */
export async function newBlobStore(config: BlobStoreConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<BlobStore> {
  if ('filesystem' in config) return FilesystemBlobStore.open({ ...config.filesystem, logger });
  if ('memory' in config) return new MemoryBlobStore(config.memory.maxBytes);
  if ('verifying' in config) return new VerifyingBlobStore(await newBlobStore(config.verifying, logger, env));
  if ('s3' in config) {
    const c = config.s3;
    const { S3BlobStore, newS3Location } = await s3Modules();
    const s3 = newS3Location(s3ConnectionOptions(c, env, 'cas.s3'));
    return S3BlobStore.open(s3, { partSize: c.partSize, listRefreshMs: c.listRefreshMs, confirmMissing: c.confirmMissing, logger: logger.child({ store: 's3', bucket: c.bucket, prefix: c.prefix }) });
  }
  if ('readCaching' in config) {
    const c = config.readCaching;
    return new ReadCachingBlobStore(await newBlobStore(c.fast, logger, env), await newBlobStore(c.slow, logger, env), logger);
  }
  const c = config.existenceCaching;
  return new ExistenceCachingBlobStore(await newBlobStore(c.backend, logger, env), { maxEntries: c.maxEntries, ttlMs: c.ttlMs });
}

export async function newActionCache(config: ActionCacheConfig, env: NodeJS.ProcessEnv = process.env): Promise<ActionCache> {
  if ('filesystem' in config) return FileActionCache.open(config.filesystem.path, { maxBytes: config.filesystem.maxBytes });
  if ('s3' in config) {
    const { S3ActionCache, newS3Location } = await s3Modules();
    return new S3ActionCache(newS3Location(s3ConnectionOptions(config.s3, env, 'ac.s3')));
  }
  return new MemoryActionCache(config.memory.maxBytes);
}

/** The S3 client (minio and its ~100 modules) loads only when a config uses S3: every other process starts faster. */
async function s3Modules() {
  const [store, connection, ac] = await Promise.all([import('../s3/s3-blob-store'), import('../s3/s3-connection'), import('../../actioncache/s3-action-cache')]);
  return { S3BlobStore: store.S3BlobStore, newS3Location: connection.newS3Location, S3ActionCache: ac.S3ActionCache };
}
