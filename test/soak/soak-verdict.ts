import type { SoakMinute } from './soak';

/** How flat the server's memory stayed: medians of the post-warm-up samples, earlier half against later half. */
export interface Flatness {
  ok: boolean;
  /** Median live heap (lowest after a full collection, per interval), MiB, in the earlier and the later half after warm-up. */
  heap: { early: number; late: number; ratio: number };
  /** Median RSS, MiB, likewise. */
  rss: { early: number; late: number; ratio: number };
  /** One line saying what was compared and the outcome. */
  verdict: string;
}

const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Memory is flat when, after the first `warmup` intervals, the later half's median live heap (after full collections;
 * intervals without one are left out) is within `heapMargin` (e.g. 1.1: +10 %) of the earlier half's, and its median
 * RSS within `rssMargin`. Medians: one allocator spike moves neither, while a leak raises every later sample. Needs
 * ≥ 2 intervals after warm-up.
 */
export function flatness(minutes: SoakMinute[], o: { warmup: number; heapMargin: number; rssMargin: number }): Flatness {
  const after = minutes.slice(o.warmup);
  if (after.length < 2) throw new Error(`flatness needs at least 2 intervals after a warm-up of ${o.warmup}, got ${after.length}`);
  const half = Math.floor(after.length / 2);
  const side = (f: (m: SoakMinute) => number) => {
    const values = (ms: SoakMinute[]) => ms.map(f).filter(Number.isFinite);
    const early = median(values(after.slice(0, half)));
    const late = median(values(after.slice(after.length - half)));
    return { early: r1(early), late: r1(late), ratio: Math.round((late / early) * 1000) / 1000 };
  };
  const heap = side((m) => m.liveMiB);
  const rss = side((m) => m.rssMiB);
  const heapOk = heap.late <= heap.early * o.heapMargin;
  const rssOk = rss.late <= rss.early * o.rssMargin;
  const ok = heapOk && rssOk && Number.isFinite(heap.ratio) && Number.isFinite(rss.ratio);
  const verdict =
    `${ok ? 'FLAT' : 'NOT FLAT'}: after ${o.warmup} warm-up intervals, median live heap ${heap.early} → ${heap.late} MiB (×${heap.ratio}, limit ×${o.heapMargin}${heapOk ? '' : ' EXCEEDED'}), ` +
    `median RSS ${rss.early} → ${rss.late} MiB (×${rss.ratio}, limit ×${o.rssMargin}${rssOk ? '' : ' EXCEEDED'}), earlier vs later ${half} intervals`;
  return { ok, heap, rss, verdict };
}
