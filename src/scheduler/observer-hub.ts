import type { Logger } from 'pino';
import { SchedulerEvent, SchedulerObserver } from './scheduler-observer';

type EventType = SchedulerEvent['type'];

/** Fans scheduler events out to observers; a throwing observer is logged and never disturbs scheduling. */
export class ObserverHub {
  private readonly all = new Set<SchedulerObserver>();
  private readonly byType = new Map<EventType, Set<SchedulerObserver>>();

  constructor(private readonly logger: Logger) {}

  /** True when someone listens to `type`: callers skip building event data otherwise (the dispatch path stays cheap). */
  wants(type: EventType): boolean {
    return this.all.size > 0 || (this.byType.get(type)?.size ?? 0) > 0;
  }

  /** Every event, or only those of `types`. */
  observe(observer: SchedulerObserver, types?: readonly EventType[]): () => void {
    if (!types) {
      this.all.add(observer);
      return () => void this.all.delete(observer);
    }
    for (const t of types) {
      if (!this.byType.has(t)) this.byType.set(t, new Set());
      this.byType.get(t)!.add(observer);
    }
    return () => types.forEach((t) => this.byType.get(t)?.delete(observer));
  }

  emit(event: SchedulerEvent): void {
    if (this.all.size > 0) for (const o of this.all) this.deliver(o, event);
    const some = this.byType.get(event.type);
    if (some) for (const o of some) this.deliver(o, event);
  }

  private deliver(o: SchedulerObserver, event: SchedulerEvent): void {
    try {
      o(event);
    } catch (err) {
      this.logger.warn({ err, event: event.type }, 'scheduler observer threw; event skipped for it');
    }
  }
}
