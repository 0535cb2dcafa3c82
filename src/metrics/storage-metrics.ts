import { ActionCache } from '../actioncache/action-cache';
import { MetricsActionCache } from '../actioncache/metrics-action-cache';
import { StorageInstrumentation } from '../blobstore/configuration/storage-instrumentation';
import { MetricsBlobStore } from '../blobstore/metrics/metrics-blob-store';
import { METRICS } from './catalog';
import { Metrics } from './metrics';

/** The storage factory's instrumentation for one instance: prom-client counters bound once per node. */
export function storageMetrics(metrics: Metrics, instance: string): StorageInstrumentation {
  const readBytes = metrics.counter(METRICS.casReadBytes);
  const writtenBytes = metrics.counter(METRICS.casWrittenBytes);
  const reads = metrics.counter(METRICS.casReads);
  const writes = metrics.counter(METRICS.casWrites);
  const findMissing = metrics.counter(METRICS.casFindMissing);
  const existence = metrics.counter(METRICS.existenceCacheLookups);
  const s3Seconds = metrics.histogram(METRICS.s3Seconds);
  const s3Requests = metrics.counter(METRICS.s3Requests);
  const s3Errors = metrics.counter(METRICS.s3Errors);
  return {
    wrap: (store, tier) => {
      const l = { instance, tier };
      return new MetricsBlobStore(store, {
        readBytes: readBytes.labels(l),
        readOk: reads.labels({ ...l, result: 'ok' }),
        readNotFound: reads.labels({ ...l, result: 'not_found' }),
        readError: reads.labels({ ...l, result: 'error' }),
        writtenBytes: writtenBytes.labels(l),
        writeCommitted: writes.labels({ ...l, result: 'committed' }),
        writeAborted: writes.labels({ ...l, result: 'aborted' }),
        writeError: writes.labels({ ...l, result: 'error' }),
        present: findMissing.labels({ ...l, result: 'present' }),
        missing: findMissing.labels({ ...l, result: 'missing' }),
      });
    },
    existenceCache: (tier) => {
      const hit = existence.labels({ instance, tier, result: 'hit' });
      const miss = existence.labels({ instance, tier, result: 'miss' });
      return (hits, misses) => {
        hit.inc(hits);
        miss.inc(misses);
      };
    },
    evicted: (cache) => evictionMetrics(metrics, cache),
    s3Request: (method) => {
      const t0 = process.hrtime.bigint();
      return (outcome) => {
        s3Seconds.observe({ method }, Number(process.hrtime.bigint() - t0) / 1e9);
        s3Requests.inc({ method, status: String(outcome) });
        if (outcome === 'network_error' || outcome >= 500) s3Errors.inc({ method });
      };
    },
  };
}

/** The worker's file cache: lookups (hit/miss) and evictions. */
export function workerFileCacheMetrics(metrics: Metrics): { onLookup: (hit: boolean) => void; onEvict: (bytes: number) => void } {
  const lookups = metrics.counter(METRICS.workerFileCacheLookups);
  const hit = lookups.labels({ result: 'hit' });
  const miss = lookups.labels({ result: 'miss' });
  return { onLookup: (h) => (h ? hit : miss).inc(), onEvict: evictionMetrics(metrics, 'worker_file_cache') };
}

/** Evictions (count and bytes) of one size-bounded cache. */
export function evictionMetrics(metrics: Metrics, cache: string): (bytes: number) => void {
  const count = metrics.counter(METRICS.evictions).labels({ cache });
  const bytes = metrics.counter(METRICS.evictedBytes).labels({ cache });
  return (n) => {
    count.inc();
    bytes.inc(n);
  };
}

/** Action cache lookups and writes of one instance, as clients see them. */
export function actionCacheMetrics(metrics: Metrics, instance: string, ac: ActionCache): ActionCache {
  const lookups = metrics.counter(METRICS.acLookups);
  return new MetricsActionCache(ac, {
    hit: lookups.labels({ instance, result: 'hit' }),
    miss: lookups.labels({ instance, result: 'miss' }),
    write: metrics.counter(METRICS.acWrites).labels({ instance }),
  });
}
