/** Where an item sits in a heap (-1: not in it). Intrusive for items in one heap, a Map for items in several. */
export interface HeapPositions<T> {
  get(item: T): number;
  set(item: T, index: number): void;
}

export function mapPositions<T>(): HeapPositions<T> {
  const m = new Map<T, number>();
  return { get: (t) => m.get(t) ?? -1, set: (t, i) => (i < 0 ? m.delete(t) : m.set(t, i)) };
}

/**
 * A binary heap that knows where each item is, so an item whose key changed moves (update) or leaves (remove) in
 * O(log n). `first(a, b)` is true when `a` must come out before `b`.
 */
export class IndexedHeap<T> {
  private readonly items: T[] = [];

  constructor(
    private readonly first: (a: T, b: T) => boolean,
    private readonly pos: HeapPositions<T> = mapPositions<T>(),
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    return this.pos.get(item) >= 0;
  }

  push(item: T): void {
    this.items.push(item);
    this.pos.set(item, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  remove(item: T): boolean {
    const i = this.pos.get(item);
    if (i < 0) return false;
    this.removeAt(i);
    return true;
  }

  /** Restores order after `item`'s key changed; pushes it when absent. */
  update(item: T): void {
    const i = this.pos.get(item);
    if (i < 0) return this.push(item);
    if (!this.up(i)) this.down(i);
  }

  values(): readonly T[] {
    return this.items;
  }

  private removeAt(i: number): void {
    const item = this.items[i];
    const last = this.items.pop()!;
    this.pos.set(item, -1);
    if (i === this.items.length) return;
    this.items[i] = last;
    this.pos.set(last, i);
    if (!this.up(i)) this.down(i);
  }

  /** Moves the item at i towards the root; true when it moved. */
  private up(i: number): boolean {
    const item = this.items[i];
    const start = i;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = this.items[parent];
      if (!this.first(item, p)) break;
      this.items[i] = p;
      this.pos.set(p, i);
      i = parent;
    }
    if (i === start) return false;
    this.items[i] = item;
    this.pos.set(item, i);
    return true;
  }

  private down(i: number): void {
    const n = this.items.length;
    const item = this.items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.first(this.items[r], this.items[l]) ? r : l;
      if (!this.first(this.items[c], item)) break;
      this.items[i] = this.items[c];
      this.pos.set(this.items[i], i);
      i = c;
    }
    this.items[i] = item;
    this.pos.set(item, i);
  }
}
