import { randomUUID } from 'node:crypto';

/**
 * Unique ids for tasks and operations: a random prefix per process plus a counter. As unique as a UUID each (a
 * restarted scheduler never reuses an old name), at a fraction of the cost on the dispatch path.
 */
export class Ids {
  private readonly prefix = `${randomUUID().slice(0, 23)}-`;
  /** From 16^12, so every counter has 13 hex digits without padding (2^52 - 16^12 ids before a digit is added). */
  private n = 16 ** 12;

  next(): string {
    return this.prefix + (++this.n).toString(16);
  }
}

/** Shared by every scheduler in this process (ids stay unique across them, e.g. in tests). */
export const processIds = new Ids();
