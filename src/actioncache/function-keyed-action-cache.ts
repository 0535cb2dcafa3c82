import { Digest } from '../digest/digest';
import { SHA256, SHA256TREE } from '../digest/digest-function';
import { REv2 } from '../proto';
import { ActionCache } from './action-cache';

/**
 * Keeps the results of SHA256TREE actions apart from SHA-256 ones. The two functions agree on every blob of up to
 * 1 KiB, which nearly every Action is, so the same Action under either function has the same digest; but its result
 * lists output digests in the caller's function, and a SHA-256 result served to a SHA256TREE client (or back) names
 * blobs by hashes the client cannot verify. A SHA256TREE action is stored under a SHA-256 digest derived from
 * "sha256tree\n{hash}/{size}", which no real SHA-256 action can have without a preimage; the stores need no change.
 * (Other functions differ from each other on every input, so their digests never meet.)
 */
export class FunctionKeyedActionCache implements ActionCache {
  constructor(private readonly inner: ActionCache) {}

  get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    return this.inner.get(storageKey(actionDigest));
  }

  put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    return this.inner.put(storageKey(actionDigest), result);
  }
}

function storageKey(d: Digest): Digest {
  return d.fn === SHA256TREE ? Digest.compute(Buffer.from(`sha256tree\n${d}`), SHA256) : d;
}
