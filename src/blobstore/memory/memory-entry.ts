import { LRUCache } from 'lru-cache';

/**
 * Bytes of heap an in-memory CAS or AC entry costs beyond its content, counted against the store's maxBytes so that
 * maxBytes bounds the heap even for tiny entries: its key string, LRU slots, the Buffer and its own ArrayBuffer.
 * Measured (heapUsed + external after full GCs, 80,000–200,000 entries of 20–100 bytes): 340–357 bytes each beyond
 * their content when inserted in a row, ~457 after LRU churn (Map and LRU slots freed unevenly).
 */
export const MEMORY_ENTRY_OVERHEAD = 384;

/**
 * The entries of an in-memory CAS or AC: least recently used out first, beyond maxBytes (content plus
 * MEMORY_ENTRY_OVERHEAD each) or beyond maxEntries, each eviction told to `onEvict` with its content size.
 */
export class MemoryEntries {
  private readonly lru: LRUCache<string, Buffer>;

  constructor(
    /** Names the store in errors. */
    store: string,
    maxBytes: number,
    private readonly maxEntries: number,
    onEvict?: (bytes: number) => void,
  ) {
    if (!(maxEntries >= 1)) throw new Error(`the ${store}'s maxEntries must be at least 1, got ${maxEntries} (it bounds how many entries the store holds; leave it out for the default)`);
    this.lru = new LRUCache({
      maxSize: maxBytes,
      sizeCalculation: (b) => b.byteLength + MEMORY_ENTRY_OVERHEAD,
      dispose: onEvict && ((b, _k, reason) => reason === 'evict' && onEvict(b.byteLength)),
    });
  }

  /** The entry (now the most recently used), if held. */
  get(key: string): Buffer | undefined {
    return this.lru.get(key);
  }

  set(key: string, data: Buffer): void {
    this.lru.set(key, data);
    while (this.lru.size > this.maxEntries) this.lru.pop();
  }
}

/**
 * The bytes in an ArrayBuffer of their own. Small Buffers (under 4 KiB) are slices of Node's shared 8 KiB pool, and a
 * slice keeps its whole slab alive: a long-lived 100-byte entry would pin up to 8 KiB once its neighbours are gone.
 */
export function ownedCopy(chunks: readonly Uint8Array[], size: number): Buffer {
  const out = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
