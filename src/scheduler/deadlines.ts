import { Clock } from './clock';

/** One backstop timer per running task: fires only if the worker's answer never comes. */
export class Deadlines {
  private readonly timers = new Map<string, () => void>();

  constructor(private readonly clock: Clock) {}

  set(id: string, ms: number, expired: () => void): void {
    this.clear(id);
    this.timers.set(
      id,
      this.clock.schedule(() => {
        this.timers.delete(id);
        expired();
      }, ms),
    );
  }

  clear(id: string): void {
    this.timers.get(id)?.();
    this.timers.delete(id);
  }

  close(): void {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }
}
