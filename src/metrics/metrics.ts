import { collectDefaultMetrics, Counter, Gauge, Histogram, LabelValues, Registry } from 'prom-client';
import { HttpRoutes } from '../http/http-routes';
import { MetricSpec } from './catalog';

export interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event-loop lag, GC) under their standard names process_* and nodejs_*. */
  processMetrics?: boolean;
}

/**
 * One process's metrics: a prom-client registry (never the library's global one) with get-or-create by spec, so each
 * storage node or service composed in src/cmd can ask for the metric it records into without coordinating.
 */
/** A counter bound to its labels: `inc` adds to a plain number. */
export interface CounterChild {
  inc(n?: number): void;
}

interface PendingChild {
  labels: LabelValues<string>;
  n: number;
}

export class Metrics {
  readonly registry = new Registry();
  /** Children of each counter (by name) whose sums prom-client has not collected yet. */
  private readonly children = new Map<string, PendingChild[]>();

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(s: MetricSpec<L>): Counter<L> {
    const existing = this.existing<Counter<L>>(s);
    if (existing) return existing;
    const children: PendingChild[] = [];
    this.children.set(s.name, children);
    return new Counter({
      name: s.name,
      help: s.help,
      labelNames: s.labelNames,
      registers: [this.registry],
      // At every scrape, before prom-client reads its values: add what the children counted since the last one.
      collect(this: Counter<L>) {
        for (const c of children) {
          if (c.n === 0) continue;
          this.inc(c.labels as LabelValues<L>, c.n);
          c.n = 0;
        }
      },
    });
  }

  /**
   * A counter child for the hot path. prom-client's `counter.labels(...)` children hash and validate their labels on
   * every `inc`; this one adds to a plain number, and the registry collects the sum at each scrape.
   */
  counterChild<L extends string>(s: MetricSpec<L>, labels: LabelValues<L>): CounterChild {
    this.counter(s);
    const child: PendingChild = { labels, n: 0 };
    this.children.get(s.name)!.push(child);
    return {
      inc(n = 1) {
        child.n += n;
      },
    };
  }

  histogram<L extends string>(s: MetricSpec<L>): Histogram<L> {
    return this.existing(s) ?? new Histogram({ name: s.name, help: s.help, labelNames: s.labelNames, buckets: s.buckets, registers: [this.registry] });
  }

  /** A gauge; `collect` (called at every scrape) sets its values from live state, which keeps hot paths free of bookkeeping. */
  gauge<L extends string>(s: MetricSpec<L>, collect?: (g: Gauge<L>) => void): Gauge<L> {
    if (this.existing(s)) throw new Error(`gauge ${s.name} is registered twice (a collect callback can only be set once)`);
    return new Gauge<L>({ name: s.name, help: s.help, labelNames: s.labelNames, registers: [this.registry], collect: collect && function (this: Gauge<L>) { collect(this); } });
  }

  /** Mounts GET /metrics (Prometheus text format): no token from loopback, a token from elsewhere when auth is on. */
  mount(routes: HttpRoutes): void {
    routes.register(
      'GET',
      '/metrics',
      async ({ res }) => {
        const text = await this.registry.metrics();
        res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
      { access: 'local-or-token' },
    );
  }

  private existing<T>(s: MetricSpec): T | undefined {
    const m = this.registry.getSingleMetric(s.name);
    if (!m) return undefined;
    const type = (m as unknown as { type?: string }).type ?? (m instanceof Counter ? 'counter' : m instanceof Histogram ? 'histogram' : 'gauge');
    if (type !== s.type) throw new Error(`metric ${s.name} exists as a ${type}, not a ${s.type}`);
    return m as unknown as T;
  }
}
