/** Time and timers, injected so tests and the simulation bench can run the scheduler on a fake clock. */
export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. Never keeps the process alive. */
  schedule(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: Date.now,
  schedule: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** A clock that tells time from `now` and otherwise uses real timers (a test moving time by hand). */
export function clockAt(now: () => number): Clock {
  return { now, schedule: systemClock.schedule };
}
