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
