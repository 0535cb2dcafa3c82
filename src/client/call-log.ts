import { promises as fsp } from 'node:fs';

/** One line of RUSTEXEC_LOG: what a front-door call did. Extra fields are allowed. */
export interface CallRecord {
  /** The crate (rustc) or job (DTLTO) the call was for. */
  crate: string;
  kind: string;
  /** executed: ran on the pool; cached: served from the action cache; local: ran on this machine. */
  remote: 'executed' | 'cached' | 'local';
  /** Wall time of the whole call. */
  ms: number;
  /** Why a call ran locally. */
  reason?: string;
  [key: string]: unknown;
}

/**
 * Appends one JSON line per call. Many wrapper processes append to the same file at once: each line is written with
 * a single O_APPEND write, which the kernel does not interleave with another's.
 */
export class CallLog {
  constructor(private readonly file: string | undefined) {}

  async append(record: CallRecord): Promise<void> {
    if (!this.file) return;
    const line = `${JSON.stringify({ ...record, pid: process.pid, at: Date.now() })}\n`;
    await fsp.appendFile(this.file, line);
  }
}
