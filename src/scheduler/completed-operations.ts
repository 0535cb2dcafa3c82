import type { Operation } from './operation';

/**
 * Completed operations stay findable by name (WaitExecution) for a while. They expire in completion order, so a FIFO
 * swept on use replaces one timer per operation.
 */
export class CompletedOperations {
  private readonly fifo: { op: Operation; untilMs: number }[] = [];
  private head = 0;

  constructor(
    private readonly retainMs: number,
    private readonly forget: (op: Operation) => void,
  ) {}

  add(op: Operation, nowMs: number): void {
    this.fifo.push({ op, untilMs: nowMs + this.retainMs });
    this.expire(nowMs);
  }

  expire(nowMs: number): void {
    while (this.head < this.fifo.length && this.fifo[this.head].untilMs <= nowMs) this.forget(this.fifo[this.head++].op);
    if (this.head > 1024 && this.head * 2 > this.fifo.length) {
      this.fifo.splice(0, this.head);
      this.head = 0;
    }
  }
}
