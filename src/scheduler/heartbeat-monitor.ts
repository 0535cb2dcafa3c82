import { Clock } from './clock';
import { RegisteredWorker, WorkerRegistry } from './worker-registry';

/** Declares a worker lost when it missed three heartbeats (checked once per interval). */
export class HeartbeatMonitor {
  private cancel?: () => void;

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly lost: (w: RegisteredWorker, reason: string) => void,
  ) {
    this.tick();
  }

  seen(w: RegisteredWorker): void {
    w.lastSeenMs = this.clock.now();
  }

  close(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private tick(): void {
    this.cancel = this.clock.schedule(() => {
      for (const w of this.registry.silentSince(this.clock.now() - 3 * this.intervalMs)) this.lost(w, 'missed 3 heartbeats');
      this.tick();
    }, this.intervalMs);
  }
}
