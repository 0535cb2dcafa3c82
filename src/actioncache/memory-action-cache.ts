import { LRUCache } from 'lru-cache';
import { Digest } from '../digest/digest';
import { encode, re, REv2 } from '../proto';
import { ActionCache } from './action-cache';

/** A size-bounded AC in memory; entries are stored encoded so callers can never mutate a cached result. */
export class MemoryActionCache implements ActionCache {
  private readonly entries: LRUCache<string, Buffer>;

  constructor(maxBytes: number) {
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (b) => Math.max(1, b.byteLength) });
  }

  async get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    const b = this.entries.get(actionDigest.key);
    return b ? re.ActionResult.decode(b) : undefined;
  }

  async put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    this.entries.set(actionDigest.key, encode(re.ActionResult, result as REv2.ActionResult));
  }
}
