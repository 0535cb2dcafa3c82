import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { randomBlob, readName } from '../helpers/blobs';
import { startTestServer } from '../helpers/test-server';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The heap after full collections, in MiB. */
function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/**
 * The soak's heap grows with what it stores (index entries). This separates the per-call path: calls that store
 * nothing (FindMissingBlobs hits, ByteStream reads, GetActionResult misses answered NOT_FOUND; every call through the
 * limits interceptor, the RPC handlers and grpc-js) must leave no heap behind. Server and clients share this process.
 */
describe('the heap per call', () => {
  it('stays flat over rounds of calls that store nothing', async (t) => {
    const s = await startTestServer();
    try {
      const b = randomBlob(2048);
      await s.clients.cas.batchUpdateBlobs({ requests: [{ digest: b.digest, data: b.data }] });
      const round = async (calls: number) => {
        for (let i = 0; i < calls; i += 3 * 16) {
          await Promise.all(
            Array.from({ length: 16 }, async () => {
              await s.clients.cas.findMissingBlobs({ blobDigests: [b.digest] });
              await s.clients.byteStream.read(readName(b));
              await s.clients.ac.getActionResult({ actionDigest: b.digest }).catch(() => undefined);
            }),
          );
        }
      };
      await round(3000); // warm-up: connections, lazily built tables, JIT
      const h0 = heapMiB();
      await round(12_000);
      const h1 = heapMiB();
      await round(12_000);
      const h2 = heapMiB();
      t.diagnostic(`heap after GC: ${h0.toFixed(2)} MiB after warm-up, ${h1.toFixed(2)} after 12,000 more calls, ${h2.toFixed(2)} after another 12,000`);
      // 0.5 MiB over 12,000 calls: a leak of 45 bytes per call would cross it.
      assert.ok(h2 - h0 < 1 && h2 - h1 < 0.5, `heap grew per call: ${h0.toFixed(2)} → ${h1.toFixed(2)} → ${h2.toFixed(2)} MiB`);
      assert.equal(s.frontend.limits.total, 0, 'every call gave its limits slot back');
    } finally {
      await s.close();
    }
  });
});
