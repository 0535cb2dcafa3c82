import { Digest } from '../digest/digest';
import { REv2 } from '../proto';

/** ActionResults keyed by action digest. `get` returns undefined on a miss. */
export interface ActionCache {
  get(actionDigest: Digest): Promise<REv2.ActionResult | undefined>;
  put(actionDigest: Digest, result: REv2.IActionResult): Promise<void>;
}
