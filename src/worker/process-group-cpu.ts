import { promises as fsp } from 'node:fs';

export const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The fields of `/proc/<pid>/stat` after the command name (which is in parentheses and may contain spaces). */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** The pids listed in `/proc/<pid>/task/<pid>/children`. */
export function childPidsOf(children: string): number[] {
  return children.split(' ').filter((c) => c.trim() !== '').map(Number);
}

/**
 * CPU seconds (user + system) used by a command's process tree, sampled from /proc (the root and its descendants,
 * found through `/proc/<pid>/task/<pid>/children`, so a sample costs a few reads, not a scan of every process). The
 * last value seen for each process is kept, so processes that already exited still count (up to one sampling
 * interval of their life is missed). Returns 0 where /proc is not available.
 */
export class ProcessGroupCpu {
  private readonly lastTicks = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pgid: number) {}

  start(intervalMs = 50): void {
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
    const visit = async (pid: number, depth: number): Promise<void> => {
      try {
        const [stat, children] = await Promise.all([fsp.readFile(`/proc/${pid}/stat`, 'utf8'), fsp.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')]);
        const f = statFields(stat);
        if (Number(f[2]) !== this.pgid) return; // field 5: pgrp — left the group (or a recycled pid)
        this.lastTicks.set(pid, Number(f[11]) + Number(f[12])); // fields 14, 15: utime, stime
        if (depth < 16) await Promise.all(childPidsOf(children).map((c) => visit(c, depth + 1)));
      } catch {
        // The process has exited.
      }
    };
    await visit(this.pgid, 0);
    return this.seconds;
  }
}
