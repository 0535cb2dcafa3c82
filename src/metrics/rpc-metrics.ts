import { status as Status } from '@grpc/grpc-js';
import type { Histogram } from 'prom-client';
import type { RpcObserver } from '../grpc/rpc-observer-interceptor';
import { METRICS } from './catalog';
import { CounterChild, Metrics } from './metrics';

const CODE_NAMES = new Map<number, string>(Object.entries(Status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

interface MethodMetrics {
  started: CounterChild;
  seconds: Histogram.Internal<string>;
  handled: Map<number, CounterChild>;
}

/** RPC counts by service/method/code and latency histograms; label children are bound once per method (hot path). */
export function rpcMetrics(metrics: Metrics): RpcObserver {
  const seconds = metrics.histogram(METRICS.grpcSeconds);
  const byPath = new Map<string, MethodMetrics>();
  const forPath = (path: string): MethodMetrics => {
    let m = byPath.get(path);
    if (!m) {
      // "/build.bazel.remote.execution.v2.ContentAddressableStorage/FindMissingBlobs"
      const [, service = 'unknown', method = path] = /^\/(.+)\/([^/]+)$/.exec(path) ?? [];
      const labels = { service, method };
      const handledFor = (code: number) => metrics.counterChild(METRICS.grpcHandled, { ...labels, code: CODE_NAMES.get(code) ?? String(code) });
      m = { started: metrics.counterChild(METRICS.grpcStarted, labels), seconds: seconds.labels(labels), handled: new Map([...CODE_NAMES.keys()].map((c) => [c, handledFor(c)])) };
      byPath.set(path, m);
    }
    return m;
  };
  return {
    start(path) {
      const m = forPath(path);
      m.started.inc();
      const t0 = process.hrtime.bigint();
      return (code) => {
        m.seconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
        let h = m.handled.get(code);
        if (!h) {
          // A code grpc-js does not name (never seen so far): counted as before, bound once.
          h = metrics.counterChild(METRICS.grpcHandled, { service: 'unknown', method: path, code: String(code) });
          m.handled.set(code, h);
        }
        h.inc();
      };
    },
  };
}
