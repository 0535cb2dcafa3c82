import type { Task } from './task';

/**
 * The tasks one worker runs: at most its slots (a handful), so a short array searched by id beats a Map, whose hash
 * table is re-allocated every few adds and deletes (one of each per decision).
 */
export class RunningTasks {
  private tasks: Task[] = [];

  get size(): number {
    return this.tasks.length;
  }

  get(id: string): Task | undefined {
    for (let i = 0; i < this.tasks.length; i++) if (this.tasks[i].id === id) return this.tasks[i];
    return undefined;
  }

  add(task: Task): void {
    this.tasks.push(task);
  }

  delete(task: Task): void {
    const i = this.tasks.indexOf(task);
    if (i < 0) return;
    const last = this.tasks.pop()!;
    if (i < this.tasks.length) this.tasks[i] = last;
  }

  /** A copy: safe to change the set while going through it. */
  values(): Task[] {
    return this.tasks.slice();
  }
}
