import type { Logger } from 'pino';
import { BlobStore } from '../blobstore/blob-store';
import { readBlob } from '../blobstore/blob-io';
import { confirmedMissing } from '../blobstore/confirmed-missing';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { re, REv2 } from '../proto';
import { ActionCache } from './action-cache';

/**
 * Serves an entry only if every blob it references (outputs, stdout/stderr, trees and the files inside them) is still
 * in the CAS; otherwise it is a miss, so a client never gets a result it cannot download. The FindMissingBlobs call
 * also refreshes the blobs' lifetimes; its misses are confirmed by reading (a frontend's S3 index may not know another
 * frontend's upload yet). An entry's digests use its action digest's function.
 */
export class CompletenessCheckingActionCache implements ActionCache {
  constructor(
    private readonly inner: ActionCache,
    private readonly cas: BlobStore,
    private readonly logger?: Logger,
  ) {}

  async get(actionDigest: Digest): Promise<REv2.ActionResult | undefined> {
    const result = await this.inner.get(actionDigest);
    if (!result) return undefined;
    try {
      const digests = await this.referencedDigests(result, actionDigest.fn);
      const missing = await confirmedMissing(this.cas, digests);
      if (missing.length === 0) return result;
      this.logger?.debug({ action: actionDigest.toString(), missing: missing.length }, 'action cache entry incomplete; treating as miss');
    } catch (err) {
      this.logger?.debug({ action: actionDigest.toString(), err }, 'action cache entry unreadable; treating as miss');
    }
    return undefined;
  }

  put(actionDigest: Digest, result: REv2.IActionResult): Promise<void> {
    return this.inner.put(actionDigest, result);
  }

  private async referencedDigests(r: REv2.ActionResult, fn: DigestFunction): Promise<Digest[]> {
    const out: Digest[] = [];
    const add = (d: REv2.IDigest | null | undefined) => {
      if (d) out.push(Digest.fromProto(d, fn));
    };
    for (const f of r.outputFiles) add(f.digest);
    add(r.stdoutDigest);
    add(r.stderrDigest);
    for (const dir of r.outputDirectories) {
      if (!dir.treeDigest) continue;
      const treeDigest = Digest.fromProto(dir.treeDigest, fn);
      out.push(treeDigest);
      const tree = re.Tree.decode(await readBlob(this.cas, treeDigest));
      for (const d of [tree.root, ...tree.children]) for (const f of d?.files ?? []) add(f.digest);
    }
    return out;
  }
}
