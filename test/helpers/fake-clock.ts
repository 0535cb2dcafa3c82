import { IndexedHeap } from '../../src/scheduler/indexed-heap';
import { Clock } from '../../src/scheduler/clock';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  heapIndex: number;
}

/** A clock whose time moves only when told; timers fire in time order (then in the order they were set). */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new IndexedHeap<Timer>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq), { get: (x) => x.heapIndex, set: (x, i) => void (x.heapIndex = i) });

  constructor(startMs = 1_700_000_000_000) {
    this.t = startMs;
  }

  // Methods, not arrow-function fields: each clock's own closures would differ from the last clock's, and every function
  // V8 had optimized with the last one inlined was thrown away and recompiled (the scale bench makes a clock per replay).
  now(): number {
    return this.t;
  }

  schedule(fn: () => void, ms: number): () => void {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false, heapIndex: -1 };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
      this.timers.remove(timer);
    };
  }

  /** When the next timer fires (undefined: none set). */
  get nextAt(): number | undefined {
    return this.timers.peek()?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  advanceTo(untilMs: number): void {
    for (let next = this.timers.peek(); next && next.at <= untilMs; next = this.timers.peek()) {
      this.timers.pop();
      this.t = Math.max(this.t, next.at);
      if (!next.cancelled) next.fn();
    }
    this.t = Math.max(this.t, untilMs);
  }
}
