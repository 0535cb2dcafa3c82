import { ActionCache } from '../actioncache/action-cache';
import { BlobStore } from '../blobstore/blob-store';
import { Digest } from '../digest/digest';
import { DigestFunction } from '../digest/digest-function';
import { ReadinessCheck } from '../http/health';

/**
 * Readiness of one instance's storage: a lookup of a digest nobody stores, in the action cache (one S3 GET or one file
 * read) and in the CAS. A miss is the expected answer; an error (S3 down, disk gone) is "not ready".
 */
export function storageCheck(ac: ActionCache, cas: BlobStore, fn: DigestFunction): ReadinessCheck {
  const probe = Digest.compute(Buffer.from('rustexec readiness probe: never stored'), fn);
  return async () => {
    await ac.get(probe);
    await cas.findMissing([probe]);
  };
}
