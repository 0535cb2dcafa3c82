/**
 * Forwards rustc's stderr to Cargo in two parts without duplicating or losing a line: the metadata action's snapshot
 * (diagnostics up to the .rmeta and its artifact notification, which lets Cargo start dependents), then the rest of
 * the full compile's stderr. rustc's output is deterministic, so the final stderr begins with the snapshot.
 */
export class PipelinedStderr {
  private printed = '';
  private announced = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly rmetaPath: string,
  ) {}

  /** Prints the complete lines of the snapshot, plus the .rmeta notification if the snapshot was cut before it. */
  early(snapshot: string): void {
    const cut = snapshot.lastIndexOf('\n') + 1;
    const lines = snapshot.slice(0, cut);
    this.write(lines);
    this.printed = lines;
    this.announced = lines.split('\n').some((l) => this.isRmetaNotice(l));
    if (!this.announced) {
      this.write(`${rmetaNotice(this.rmetaPath)}\n`);
      this.announced = true;
    }
  }

  /** Prints what the final stderr adds to what was printed early (all of it when nothing was). */
  final(stderr: string): void {
    if (!this.printed && !this.announced) return this.write(stderr);
    const rest = stderr.startsWith(this.printed) ? stderr.slice(this.printed.length) : dropPrinted(stderr, this.printed);
    // The notification was printed (or synthesised) early: Cargo must not see it twice.
    this.write(rest.split(/(?<=\n)/).filter((l) => !this.isRmetaNotice(l.trimEnd())).join(''));
  }

  get rmetaAnnounced(): boolean {
    return this.announced;
  }

  private isRmetaNotice(line: string): boolean {
    if (!line.startsWith('{"$message_type":"artifact"')) return false;
    try {
      const m = JSON.parse(line) as { artifact?: string; emit?: string };
      return m.emit === 'metadata';
    } catch {
      return false;
    }
  }
}

/** rustc's own notification line for an emitted .rmeta (the format of --json=artifacts). */
export function rmetaNotice(rmetaPath: string): string {
  return JSON.stringify({ $message_type: 'artifact', artifact: rmetaPath, emit: 'metadata' });
}

/** Lines of `stderr` not already printed (a fallback should the run ever print differently). */
function dropPrinted(stderr: string, printed: string): string {
  const seen = new Set(printed.split('\n'));
  return stderr.split(/(?<=\n)/).filter((l) => !seen.has(l.replace(/\n$/, ''))).join('');
}
