import { readdirSync, readFileSync } from 'node:fs';
import { childPidsOf, statFields, TICKS_PER_SECOND } from '../src/worker/process-group-cpu';

/** Runs `fn` `iterations` times after `warmup` runs; returns the median in milliseconds. */
export async function medianMs(fn: () => Promise<unknown> | unknown, iterations = 10, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The median (upper median for an even count); NaN for none. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export function report(name: string, value: number, unit: string, extra = ''): void {
  console.log(`${name.padEnd(58)} ${value.toFixed(2).padStart(10)} ${unit}${extra ? `  ${extra}` : ''}`);
}

/** User+system CPU seconds a live process used so far (its own threads; reaped children excluded). */
export function processCpuSeconds(pid: number): number {
  const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND; // utime, stime
}

/**
 * CPU seconds of a live process's threads from /proc/PID/task/TID/schedstat, in nanoseconds rather than /proc/PID/stat's
 * 10 ms ticks (a FindMissingBlobs costs the server about one tick). Threads that already exited are not counted; a
 * Node server's threads (main, libuv pool, GC helpers) live as long as it does.
 */
export function processCpuSecondsPrecise(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited since the listing
    }
  }
  return ns / 1e9;
}

/** CPU seconds of this process's exited children (and theirs, when they waited for them), e.g. cargo and its rustcs. */
export function reapedChildrenCpuSeconds(): number {
  const f = statFields(readFileSync('/proc/self/stat', 'utf8'));
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND; // cutime, cstime
}

/** The direct children of a live process. */
export function childPids(pid: number): number[] {
  try {
    return childPidsOf(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8'));
  } catch {
    return [];
  }
}
