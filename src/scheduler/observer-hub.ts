import type { Logger } from 'pino';
import { SchedulerEvent, SchedulerObserver } from './scheduler-observer';

/** Fans scheduler events out to observers; a throwing observer is logged and never disturbs scheduling. */
export class ObserverHub {
  private readonly observers = new Set<SchedulerObserver>();

  constructor(private readonly logger: Logger) {}

  /** True when someone listens: callers skip building event data otherwise (the dispatch path stays cheap). */
  get active(): boolean {
    return this.observers.size > 0;
  }

  observe(observer: SchedulerObserver): () => void {
    this.observers.add(observer);
    return () => void this.observers.delete(observer);
  }

  emit(event: SchedulerEvent): void {
    for (const o of this.observers) {
      try {
        o(event);
      } catch (err) {
        this.logger.warn({ err, event: event.type }, 'scheduler observer threw; event skipped for it');
      }
    }
  }
}
