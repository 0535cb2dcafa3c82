import type { Logger } from 'pino';
import { Digest } from '../../digest/digest';

export interface S3ExistenceIndexOptions {
  /** Lists every `{hash}-{size}` key under the CAS prefix, one page (≤ 1000 keys, one request) at a time. */
  listKeys: () => AsyncIterable<string[]>;
  /** One HEAD request: whether the blob with this key exists. Throws (UNAVAILABLE) when S3 cannot answer. */
  exists: (key: string) => Promise<boolean>;
  /** Time between full listings; also bounds how long another frontend's write stays invisible here. */
  refreshMs: number;
  /** While the index is incomplete (S3 down at start-up), listings are retried this often. */
  retryMs?: number;
  /** HEAD requests in flight per findMissing call while the index is incomplete. */
  headConcurrency?: number;
  logger?: Logger;
}

/**
 * The set of CAS keys present in the bucket, so FindMissingBlobs costs no request per digest.
 *
 * Consistency rules:
 * - Complete once the first full listing succeeded; from then on a digest not in the set is reported missing without
 *   asking S3. Before that, such digests are confirmed with one HEAD each (bounded concurrency).
 * - Writes through this process are added at commit, and reads that find an object add it: both are visible at once.
 * - Another frontend's write becomes visible at the next listing (every `refreshMs`), or as soon as anyone reads it
 *   here. Until then it is reported missing, which is safe: the client uploads it again (idempotent).
 * - An object deleted behind our back (lifecycle rule, operator) is still reported present until the next listing or
 *   until a read gets NoSuchKey and removes it. Keep S3 expiry horizons far above `refreshMs`.
 * - A refresh replaces the set with the listing plus every add/remove that happened while it ran (last change wins),
 *   so a write committed mid-listing is not lost. A failed refresh keeps the previous set (and completeness).
 */
export class S3ExistenceIndex {
  private present = new Set<string>();
  private complete = false;
  private changesDuringListing: Map<string, boolean> | undefined;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: S3ExistenceIndexOptions) {}

  get isComplete(): boolean {
    return this.complete;
  }

  get size(): number {
    return this.present.size;
  }

  /** Starts the first listing in the background and keeps refreshing; `open` must not fail just because S3 is down. */
  start(): void {
    void this.refresh().then(() => this.schedule());
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  has(key: string): boolean {
    return this.present.has(key);
  }

  add(key: string): void {
    this.present.add(key);
    this.changesDuringListing?.set(key, true);
  }

  remove(key: string): void {
    this.present.delete(key);
    this.changesDuringListing?.set(key, false);
  }

  /**
   * `confirm`: HEAD what the index does not know even when it is complete — for callers to whom a false "missing"
   * is costly (the scheduler's input check), never for client FindMissingBlobs, where it would cost a request per new blob.
   */
  async findMissing(digests: Digest[], confirm = false): Promise<Digest[]> {
    const unknown = digests.filter((d) => !d.isEmpty && !this.present.has(d.key));
    if ((this.complete && !confirm) || unknown.length === 0) return unknown;
    const missing: Digest[] = [];
    let next = 0;
    const lane = async () => {
      while (next < unknown.length) {
        const d = unknown[next++];
        if (await this.options.exists(d.key)) this.add(d.key);
        else missing.push(d);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.headConcurrency ?? 32, unknown.length) }, lane));
    const missingKeys = new Set(missing.map((d) => d.key));
    return unknown.filter((d) => missingKeys.has(d.key)); // In request order.
  }

  /** One full listing (single-flight). Never rejects: a failure is logged and the previous state kept. */
  refresh(): Promise<void> {
    this.refreshing ??= this.list().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async list(): Promise<void> {
    const changes = new Map<string, boolean>();
    this.changesDuringListing = changes;
    const started = Date.now();
    try {
      const listed = new Set<string>();
      for await (const page of this.options.listKeys()) for (const k of page) listed.add(k);
      for (const [k, present] of changes) present ? listed.add(k) : listed.delete(k);
      this.present = listed;
      this.complete = true;
      this.options.logger?.debug({ objects: listed.size, ms: Date.now() - started }, 's3 existence index refreshed');
    } catch (err) {
      this.options.logger?.warn({ err, complete: this.complete }, 's3 existence index: listing failed; keeping the previous state and retrying later');
    } finally {
      this.changesDuringListing = undefined;
    }
  }

  private schedule(): void {
    if (this.closed) return;
    const delay = this.complete ? this.options.refreshMs : Math.min(this.options.refreshMs, this.options.retryMs ?? 5000);
    this.timer = setTimeout(() => void this.refresh().then(() => this.schedule()), delay);
    this.timer.unref();
  }
}
