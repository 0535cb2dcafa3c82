import { Readable } from 'node:stream';
import { Digest } from '../../digest/digest';
import { BlobReader, BlobStore, BlobWriter, ReadOptions } from '../blob-store';

export interface ExistenceCacheOptions {
  maxEntries: number;
  /** How long "present" is believed without asking the inner store again. Keep it well below the store's eviction horizon. */
  ttlMs: number;
  /** Told, per FindMissing, how many digests were known present (hits) and how many the backend was asked about. */
  onLookup?: (hits: number, misses: number) => void;
}

interface Confirmed {
  size: number;
  expiry: number;
}

/**
 * Remembers which blobs were recently found present, so repeated FindMissingBlobs calls skip the inner store.
 * A Map from key to expiry in order of confirmation (so, with one ttl, in order of expiry): a lookup is one Map.get
 * and expired entries leave from the front. lru-cache with a ttl reads the clock on every lookup, which made this
 * layer the largest cost of a 10k-digest FindMissing.
 */
export class ExistenceCachingBlobStore implements BlobStore {
  /** By hash (a flat string from the request; `${hash}-${size}` keys would be built and hashed per digest per call). */
  private readonly present = new Map<string, Confirmed>();
  private readonly onLookup?: (hits: number, misses: number) => void;
  private readonly maxEntries: number;
  private readonly ttlMs: number;

  constructor(
    private readonly inner: BlobStore,
    options: ExistenceCacheOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.ttlMs >= 1)) throw new Error(`existence cache ttl must be at least 1 ms (0 would mean "forever" to a reader of the config), got ${options.ttlMs}`);
    this.onLookup = options.onLookup;
    this.maxEntries = options.maxEntries;
    this.ttlMs = options.ttlMs;
  }

  /** Entries held; expired ones leave at the next FindMissing, so a store of ever new blobs holds one ttl's worth. */
  get size(): number {
    return this.present.size;
  }

  async findMissing(digests: Digest[]): Promise<Digest[]> {
    const now = this.now();
    this.dropExpired(now);
    const unknown: Digest[] = [];
    for (const d of digests) {
      const e = this.present.get(d.hash);
      if (e === undefined || e.size !== d.size || e.expiry <= now) unknown.push(d);
    }
    this.onLookup?.(digests.length - unknown.length, unknown.length);
    if (unknown.length === 0) return [];
    const missing = await this.inner.findMissing(unknown);
    const missingKeys = new Set<string>();
    for (const d of missing) missingKeys.add(d.key);
    const expiry = this.now() + this.ttlMs;
    for (const d of unknown) if (!missingKeys.has(d.key)) this.remember(d, expiry);
    return missing;
  }

  /** One entry per hash: the last size confirmed (another size of the same hash is asked about again: still correct). */
  private remember(d: Digest, expiry: number): void {
    this.present.delete(d.hash); // re-inserted at the end: the order stays the order of expiry
    this.present.set(d.hash, { size: d.size, expiry });
    if (this.present.size > this.maxEntries) this.present.delete(this.present.keys().next().value as string);
  }

  private dropExpired(now: number): void {
    for (const [hash, e] of this.present) {
      if (e.expiry > now) return;
      this.present.delete(hash);
    }
  }

  get(digest: Digest, options?: ReadOptions): Promise<Readable> {
    return this.inner.get(digest, options);
  }

  open(digest: Digest, range?: ReadOptions): Promise<BlobReader> {
    return this.inner.open(digest, range);
  }

  async createWriter(digest: Digest): Promise<BlobWriter> {
    const w = await this.inner.createWriter(digest);
    const confirm = () => this.remember(digest, this.now() + this.ttlMs);
    return {
      get committedSize() {
        return w.committedSize;
      },
      write: (chunk) => w.write(chunk),
      async commit() {
        await w.commit();
        confirm();
      },
      abort: () => w.abort(),
    };
  }
}
