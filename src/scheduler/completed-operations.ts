import type { Operation } from './operation';

/**
 * Completed operations stay findable by name (WaitExecution) for a while. They expire in completion order, so a FIFO
 * swept on use replaces one timer per operation (two parallel arrays: no object per entry).
 */
export class CompletedOperations {
  private ops: Operation[] = [];
  private untilMs: number[] = [];
  private head = 0;

  constructor(
    private readonly retainMs: number,
    private readonly forget: (op: Operation) => void,
  ) {}

  add(op: Operation, nowMs: number): void {
    this.ops.push(op);
    this.untilMs.push(nowMs + this.retainMs);
    this.expire(nowMs);
  }

  expire(nowMs: number): void {
    while (this.head < this.ops.length && this.untilMs[this.head] <= nowMs) {
      const op = this.ops[this.head];
      this.ops[this.head++] = undefined as unknown as Operation;
      this.forget(op);
    }
    if (this.head > 1024 && this.head * 2 > this.ops.length) {
      this.ops = this.ops.slice(this.head);
      this.untilMs = this.untilMs.slice(this.head);
      this.head = 0;
    }
  }
}
