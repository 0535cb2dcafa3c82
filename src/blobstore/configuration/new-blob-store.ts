import type { Logger } from 'pino';
import { ActionCache } from '../../actioncache/action-cache';
import { FileActionCache } from '../../actioncache/file-action-cache';
import { MemoryActionCache } from '../../actioncache/memory-action-cache';
import { BlobStore } from '../blob-store';
import { ExistenceCachingBlobStore } from '../existence-caching/existence-caching-blob-store';
import { FilesystemBlobStore } from '../filesystem/filesystem-blob-store';
import { MemoryBlobStore } from '../memory/memory-blob-store';
import { VerifyingBlobStore } from '../verifying/verifying-blob-store';
import { ActionCacheConfig, BlobStoreConfig } from './blob-store-config';

/** The one recursive factory: builds the BlobStore tree exactly as the config describes it. */
export async function newBlobStore(config: BlobStoreConfig, logger: Logger): Promise<BlobStore> {
  if ('filesystem' in config) return FilesystemBlobStore.open({ ...config.filesystem, logger });
  if ('memory' in config) return new MemoryBlobStore(config.memory.maxBytes);
  if ('verifying' in config) return new VerifyingBlobStore(await newBlobStore(config.verifying, logger));
  const c = config.existenceCaching;
  return new ExistenceCachingBlobStore(await newBlobStore(c.backend, logger), { maxEntries: c.maxEntries, ttlMs: c.ttlMs });
}

export async function newActionCache(config: ActionCacheConfig): Promise<ActionCache> {
  if ('filesystem' in config) return FileActionCache.open(config.filesystem.path);
  return new MemoryActionCache(config.memory.maxBytes);
}
