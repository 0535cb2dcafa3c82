import { MemoryEntries, ownedCopy } from '../blobstore/memory/memory-entry';
import { Digest } from '../digest/digest';
import { encode, re, REv2 } from '../proto';
import { ActionCache } from './action-cache';

export interface MemoryActionCacheOptions {
  /**
   * Entries held at most (default 1,000,000, as the file AC): the least recently used are evicted beyond it, as beyond
   * maxBytes, which already counts MEMORY_ENTRY_OVERHEAD per entry.
   */
  maxEntries?: number;
  /** Told the size of each entry evicted to stay within maxBytes or maxEntries (eviction metrics). */
  onEvict?: (bytes: number) => void;
}

const DEFAULT_MAX_ENTRIES = 1_000_000;

/**
 * A bounded LRU AC in memory: entries plus MEMORY_ENTRY_OVERHEAD each stay within maxBytes, and at most maxEntries of
 * them. Entries are stored encoded so callers can never mutate a cached result.
 */
export class MemoryActionCache implements ActionCache {
  private readonly entries: MemoryEntries;

  constructor(maxBytes: number, options: MemoryActionCacheOptions = {}) {
    this.entries = new MemoryEntries('memory action cache', maxBytes, options.maxEntries ?? DEFAULT_MAX_ENTRIES, options.onEvict);
  }

  async get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    const b = this.entries.get(actionDigest.key);
    return b ? re.ActionResult.decode(b) : undefined;
  }

  async put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    const encoded = encode(re.ActionResult, result as REv2.ActionResult);
    this.entries.set(actionDigest.key, ownedCopy([encoded], encoded.byteLength));
  }
}
