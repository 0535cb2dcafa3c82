import { randomUUID } from 'node:crypto';

/**
 * Unique ids for tasks and operations: a random prefix per process plus a counter. As unique as a UUID each (a
 * restarted scheduler never reuses an old name), at a fraction of the cost on the dispatch path.
 */
export class Ids {
  private readonly prefix = `${randomUUID().slice(0, 23)}-`;
  private n = 0;

  /** The counter in decimal: V8 turns a small integer into a string fastest that way. */
  next(): string {
    return this.prefix + ++this.n;
  }
}

/** Shared by every scheduler in this process (ids stay unique across them, e.g. in tests). */
export const processIds = new Ids();
