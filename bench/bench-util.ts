import { readFileSync } from 'node:fs';

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

export function report(name: string, value: number, unit: string, extra = ''): void {
  console.log(`${name.padEnd(58)} ${value.toFixed(2).padStart(10)} ${unit}${extra ? `  ${extra}` : ''}`);
}

/** User+system CPU seconds a live process used so far (its own threads; reaped children excluded). */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU seconds of this process's exited children (and theirs, when they waited for them), e.g. cargo and its rustcs. */
export function reapedChildrenCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** The direct children of a live process. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const CLOCK_TICKS = 100; // USER_HZ on Linux
