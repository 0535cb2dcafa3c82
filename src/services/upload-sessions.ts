import { BlobWriter } from '../blobstore/blob-store';

interface Session {
  writer: BlobWriter;
  busy: boolean;
  lastActiveMs: number;
}

/**
 * Keeps interrupted ByteStream uploads alive so a client can resume with `write_offset` = QueryWriteStatus's
 * committed_size. Idle sessions are aborted (their temp data deleted) after `idleMs`.
 */
export class UploadSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly idleMs = 10 * 60 * 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.expire(), Math.min(idleMs, 60_000));
    this.timer.unref();
  }

  get(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  add(key: string, writer: BlobWriter): Session {
    const s = { writer, busy: true, lastActiveMs: this.now() };
    this.sessions.set(key, s);
    return s;
  }

  release(key: string, s: Session): void {
    s.busy = false;
    s.lastActiveMs = this.now();
    if (this.sessions.get(key) !== s) void s.writer.abort();
  }

  remove(key: string): void {
    this.sessions.delete(key);
  }

  async expire(): Promise<void> {
    const cutoff = this.now() - this.idleMs;
    for (const [key, s] of this.sessions) {
      if (!s.busy && s.lastActiveMs < cutoff) {
        this.sessions.delete(key);
        await s.writer.abort();
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.sessions.values()) await s.writer.abort();
    this.sessions.clear();
  }
}
