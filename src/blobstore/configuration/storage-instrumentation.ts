import { BlobStore } from '../blob-store';
import type { S3RequestObserver } from '../s3/s3-connection';

/**
 * What the storage factory hands to metrics, so no store counts by hand: a decorator around every configured node
 * (as Buildbarn's factory wraps each BlobAccess), plus the hooks of the caches and clients whose inner events a
 * decorator cannot see (existence-cache hits, evictions, S3 requests). Implemented in src/metrics/.
 */
export interface StorageInstrumentation {
  /** Wraps one node; `tier` is its path in the config, e.g. "readCaching/slow/s3". */
  wrap(store: BlobStore, tier: string): BlobStore;
  existenceCache(tier: string): (hits: number, misses: number) => void;
  /** `cache`: cas_filesystem, cas_memory, action_cache. */
  evicted(cache: string): (bytes: number) => void;
  s3Request: S3RequestObserver;
}
