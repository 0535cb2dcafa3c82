import { promises as fsp } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU seconds (user + system) used by a process group, sampled from /proc: the last value seen for each member is
 * kept, so processes that already exited still count (up to one sampling interval of their life is missed).
 * Returns 0 where /proc is not available.
 */
export class ProcessGroupCpu {
  private readonly lastTicks = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pgid: number) {}

  start(intervalMs = 100): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get seconds(): number {
    let ticks = 0;
    for (const t of this.lastTicks.values()) ticks += t;
    return ticks / TICKS_PER_SECOND;
  }

  async sample(): Promise<number> {
    let pids: string[];
    try {
      pids = await fsp.readdir('/proc');
    } catch {
      return this.seconds;
    }
    await Promise.all(
      pids.filter((p) => /^\d+$/.test(p)).map(async (p) => {
        try {
          const stat = await fsp.readFile(`/proc/${p}/stat`, 'utf8');
          // Fields after the command name, which is in parentheses and may contain spaces.
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          if (Number(f[2]) !== this.pgid) return; // field 5: pgrp
          this.lastTicks.set(Number(p), Number(f[11]) + Number(f[12])); // fields 14, 15: utime, stime
        } catch {
          // The process exited between readdir and read.
        }
      }),
    );
    return this.seconds;
  }
}
