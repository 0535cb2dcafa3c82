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
import { StorageInstrumentation } from './storage-instrumentation';

/**
 * The one recursive factory: builds the BlobStore tree exactly as the config describes it. With `instrument`, every
 * node is wrapped by its decorator (tier = the node's path, e.g. "readCaching/fast/filesystem") and the caches and S3
 * clients get its hooks.
 */
export async function newBlobStore(config: BlobStoreConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env, instrument?: StorageInstrumentation): Promise<BlobStore> {
  return build(config, '', logger, env, instrument);
}

async function build(config: BlobStoreConfig, parent: string, logger: Logger, env: NodeJS.ProcessEnv, instrument?: StorageInstrumentation): Promise<BlobStore> {
  const kind = Object.keys(config)[0];
  const tier = parent ? `${parent}/${kind}` : kind;
  const child = (c: BlobStoreConfig, role?: string) => build(c, role ? `${tier}/${role}` : tier, logger, env, instrument);
  const store = await (async (): Promise<BlobStore> => {
    if ('filesystem' in config) return FilesystemBlobStore.open({ ...config.filesystem, logger, onEvict: instrument?.evicted('cas_filesystem') });
    if ('memory' in config) return new MemoryBlobStore(config.memory.maxBytes, { maxEntries: config.memory.maxEntries, onEvict: instrument?.evicted('cas_memory') });
    if ('verifying' in config) return new VerifyingBlobStore(await child(config.verifying));
    if ('s3' in config) {
      const c = config.s3;
      const { S3BlobStore, newS3Location } = await s3Modules();
      const s3 = newS3Location({ ...s3ConnectionOptions(c, env, 'cas.s3'), onRequest: instrument?.s3Request });
      return S3BlobStore.open(s3, { partSize: c.partSize, listRefreshMs: c.listRefreshMs, confirmMissing: c.confirmMissing, logger: logger.child({ store: 's3', bucket: c.bucket, prefix: c.prefix }) });
    }
    if ('readCaching' in config) {
      const c = config.readCaching;
      return new ReadCachingBlobStore(await child(c.fast, 'fast'), await child(c.slow, 'slow'), logger);
    }
    const c = config.existenceCaching;
    return new ExistenceCachingBlobStore(await child(c.backend), { maxEntries: c.maxEntries, ttlMs: c.ttlMs, onLookup: instrument?.existenceCache(tier) });
  })();
  return instrument ? instrument.wrap(store, tier) : store;
}

export async function newActionCache(config: ActionCacheConfig, env: NodeJS.ProcessEnv = process.env, instrument?: StorageInstrumentation): Promise<ActionCache> {
  if ('filesystem' in config) return FileActionCache.open(config.filesystem.path, { maxBytes: config.filesystem.maxBytes, maxEntries: config.filesystem.maxEntries, onEvict: instrument?.evicted('action_cache') });
  if ('s3' in config) {
    const { S3ActionCache, newS3Location } = await s3Modules();
    return new S3ActionCache(newS3Location({ ...s3ConnectionOptions(config.s3, env, 'ac.s3'), onRequest: instrument?.s3Request }));
  }
  return new MemoryActionCache(config.memory.maxBytes, { maxEntries: config.memory.maxEntries, onEvict: instrument?.evicted('action_cache') });
}

/** The S3 client (minio and its ~100 modules) loads only when a config uses S3: every other process starts faster. */
async function s3Modules() {
  const [store, connection, ac] = await Promise.all([import('../s3/s3-blob-store'), import('../s3/s3-connection'), import('../../actioncache/s3-action-cache')]);
  return { S3BlobStore: store.S3BlobStore, newS3Location: connection.newS3Location, S3ActionCache: ac.S3ActionCache };
}
