import { Digest } from '../digest/digest';
import { REv2 } from '../proto';
import { ActionCache } from './action-cache';

interface Count {
  inc(n?: number): void;
}

/** Counts lookups (hit/miss) and stores of an action cache; wraps the completeness-checked cache, so a miss is what clients see. */
export class MetricsActionCache implements ActionCache {
  constructor(
    private readonly inner: ActionCache,
    private readonly c: { hit: Count; miss: Count; write: Count },
  ) {}

  async get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    const r = await this.inner.get(actionDigest);
    (r ? this.c.hit : this.c.miss).inc();
    return r;
  }

  async put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    await this.inner.put(actionDigest, result);
    this.c.write.inc();
  }
}
