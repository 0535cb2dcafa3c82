import { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { Digest } from '../../digest/digest';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';

export interface ExistenceCacheOptions {
  maxEntries: number;
  /** How long "present" is believed without asking the inner store again. Keep it well below the store's eviction horizon. */
  ttlMs: number;
  /** Told, per FindMissing, how many digests were known present (hits) and how many the backend was asked about. */
  onLookup?: (hits: number, misses: number) => void;
}

/** Remembers which blobs were recently found present, so repeated FindMissingBlobs calls skip the inner store. */
export class ExistenceCachingBlobStore implements BlobStore {
  private readonly present: LRUCache<string, true>;
  private readonly onLookup?: (hits: number, misses: number) => void;
  private lastPurgeMs: number;

  constructor(
    private readonly inner: BlobStore,
    private readonly options: ExistenceCacheOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.ttlMs >= 1)) throw new Error(`existence cache ttl must be at least 1 ms (lru-cache treats 0 as "forever"), got ${options.ttlMs}`);
    // ttlResolution 0: lru-cache otherwise reuses one clock reading for 1 ms of real time, which hides fake-clock steps.
    // maxSize, not max: with `max` lru-cache preallocates arrays for every entry up front (≈ 45 MB for 1M), which
    // every full garbage collection then has to scan, even while the cache is nearly empty.
    this.onLookup = options.onLookup;
    this.present = new LRUCache({ maxSize: options.maxEntries, sizeCalculation: () => 1, ttl: options.ttlMs, ttlResolution: 0, perf: { now } });
    this.lastPurgeMs = now();
  }

  /** Entries held (expired ones included until the next purge). */
  get size(): number {
    return this.present.size;
  }

  /**
   * lru-cache keeps expired entries until they are read or pushed out by `maxEntries`: a server storing new blobs
   * would hold up to maxEntries of them (≈ 270 bytes each, 270 MB for the default million). Dropping the expired ones
   * once per ttl keeps only the last ttl's worth, for one scan of the cache per ttl.
   */
  private purgeEveryTtl(): void {
    const t = this.now();
    if (t - this.lastPurgeMs < this.options.ttlMs) return;
    this.lastPurgeMs = t;
    this.present.purgeStale();
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    this.purgeEveryTtl();
    const unknown = digests.filter((d) => !this.present.has(d.key));
    this.onLookup?.(digests.length - unknown.length, unknown.length);
    if (unknown.length === 0) return [];
    const missing = await this.inner.findMissing(unknown);
    const missingKeys = new Set(missing.map((d) => d.key));
    for (const d of unknown) if (!missingKeys.has(d.key)) this.present.set(d.key, true);
    return missing;
  }

  get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    return this.inner.get(digest, options);
  }

  open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    return this.inner.open(digest, range);
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    const w = await this.inner.createWriter(digest);
    const present = this.present;
    return {
      get committedSize() {
        return w.committedSize;
      },
      write: (chunk) => w.write(chunk),
      async commit() {
        await w.commit();
        present.set(digest.key, true);
      },
      abort: () => w.abort(),
    };
  }
}
