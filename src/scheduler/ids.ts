import { randomUUID } from 'node:crypto';

/**
 * Unique ids for tasks and operations: a random prefix per process plus a counter. As unique as a UUID each (a
 * restarted scheduler never reuses an old name), at a fraction of the cost on the dispatch path. Callers hold the
 * number and build the name only when it is shown: most tasks (those a fused run serves) never need one.
 */
export class Ids {
  private readonly prefix = `${randomUUID().slice(0, 23)}-`;
  private n = 0;

  next(): number {
    return ++this.n;
  }

  /** The name of id `n` (decimal: V8 turns a small integer into a string fastest that way). */
  name(n: number): string {
    return this.prefix + n;
  }

  /** The id a name of this process stands for (undefined: not one of its names). */
  parse(name: string): number | undefined {
    if (!name.startsWith(this.prefix)) return undefined;
    const digits = name.slice(this.prefix.length);
    return /^[1-9][0-9]{0,14}$/.test(digits) ? Number(digits) : undefined;
  }
}

/** Shared by every scheduler in this process (ids stay unique across them, e.g. in tests). */
export const processIds = new Ids();
