import { BlobStore } from './blob-store';
import { Digest } from '../digest/digest';
import { Code, toStatusError } from '../grpc/status-error';
import { mapLimit } from '../util/map-limit';

/**
 * FindMissingBlobs for callers to whom a false "missing" is costly. A frontend over S3 answers from its bucket index,
 * which learns of another frontend's upload only at its next listing (S3ExistenceIndex): until then the blob is reported
 * missing although a read finds it. A build client just uploads it again, but a worker cannot (it failed the action
 * with "input blob(s) missing", and Bazel the build: two frontends behind one Service, #12), and the action cache would
 * turn a complete entry into a miss and a re-execution. So each reported miss is confirmed with a one-byte read (which
 * also teaches an S3 store's index the blob): only NOT_FOUND counts as missing, other errors propagate. Misses are rare
 * there (the scheduler checked the inputs; results were just written), so this costs next to nothing.
 */
export async function confirmedMissing(store: BlobStore, digests: Digest[], concurrency = 16): Promise<Digest[]> {
  const reported = await store.findMissing(digests);
  if (reported.length === 0) return reported;
  const present = await mapLimit(reported, concurrency, (d) => readable(store, d));
  return reported.filter((_, i) => !present[i]);
}

async function readable(store: BlobStore, digest: Digest): Promise<boolean> {
  try {
    // A stream's error can arrive with its first chunk rather than from get(): consume it.
    for await (const _ of await store.get(digest, { offset: 0, limit: 1 })) void _;
    return true;
  } catch (err) {
    if (toStatusError(err).code === Code.NOT_FOUND) return false;
    throw err;
  }
}
