import { ActionCache } from '../actioncache/action-cache';
import { MetricsActionCache } from '../actioncache/metrics-action-cache';
import { StorageInstrumentation } from '../blobstore/configuration/storage-instrumentation';
import { MetricsBlobStore } from '../blobstore/metrics/metrics-blob-store';
import { METRICS } from './catalog';
import { Metrics } from './metrics';

/** The storage factory's instrumentation for one instance: prom-client counters bound once per node. */
export function storageMetrics(metrics: Metrics, instance: string): StorageInstrumentation {
  const child = metrics.counterChild.bind(metrics);
  const s3Seconds = metrics.histogram(METRICS.s3Seconds);
  const s3Requests = metrics.counter(METRICS.s3Requests);
  const s3Errors = metrics.counter(METRICS.s3Errors);
  return {
    wrap: (store, tier) => {
      const l = { instance, tier };
      return new MetricsBlobStore(store, {
        readBytes: child(METRICS.casReadBytes, l),
        readOk: child(METRICS.casReads, { ...l, result: 'ok' }),
        readNotFound: child(METRICS.casReads, { ...l, result: 'not_found' }),
        readError: child(METRICS.casReads, { ...l, result: 'error' }),
        writtenBytes: child(METRICS.casWrittenBytes, l),
        writeCommitted: child(METRICS.casWrites, { ...l, result: 'committed' }),
        writeAborted: child(METRICS.casWrites, { ...l, result: 'aborted' }),
        writeError: child(METRICS.casWrites, { ...l, result: 'error' }),
        present: child(METRICS.casFindMissing, { ...l, result: 'present' }),
        missing: child(METRICS.casFindMissing, { ...l, result: 'missing' }),
      });
    },
    existenceCache: (tier) => {
      const hit = child(METRICS.existenceCacheLookups, { instance, tier, result: 'hit' });
      const miss = child(METRICS.existenceCacheLookups, { instance, tier, result: 'miss' });
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
  const hit = metrics.counterChild(METRICS.workerFileCacheLookups, { result: 'hit' });
  const miss = metrics.counterChild(METRICS.workerFileCacheLookups, { result: 'miss' });
  return { onLookup: (h) => (h ? hit : miss).inc(), onEvict: evictionMetrics(metrics, 'worker_file_cache') };
}

/** Evictions (count and bytes) of one size-bounded cache. */
export function evictionMetrics(metrics: Metrics, cache: string): (bytes: number) => void {
  const count = metrics.counterChild(METRICS.evictions, { cache });
  const bytes = metrics.counterChild(METRICS.evictedBytes, { cache });
  return (n) => {
    count.inc();
    bytes.inc(n);
  };
}

/** Action cache lookups and writes of one instance, as clients see them. */
export function actionCacheMetrics(metrics: Metrics, instance: string, ac: ActionCache): ActionCache {
  return new MetricsActionCache(ac, {
    hit: metrics.counterChild(METRICS.acLookups, { instance, result: 'hit' }),
    miss: metrics.counterChild(METRICS.acLookups, { instance, result: 'miss' }),
    write: metrics.counterChild(METRICS.acWrites, { instance }),
  });
}
