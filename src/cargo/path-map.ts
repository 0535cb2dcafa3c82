/**
 * Where the action sees the client's paths. Without `--remap-path-prefix` every path stays where it is (outputs are
 * then bit-identical to a local build). With remap rules (a user opting in to cache hits across checkouts), each
 * absolute FROM moves to a fixed location, `/rustexec/remap<i>`, so two checkouts at different paths send the very same
 * action; rustc embeds TO, not the location, so the outputs match a local build with the same rules (checked with
 * rustc 1.95: FROM does not enter the crate hash). Paths written back (dep-info, stderr) are mapped home again.
 */
export class PathMap {
  private readonly rules: { from: string; canon: string }[];

  constructor(remaps: { from: string; to: string }[]) {
    this.rules = remaps.map((r, i) => ({ from: r.from.replace(/\/+$/, ''), canon: `/rustexec/remap${i}` })).filter((r) => r.from.startsWith('/') && r.from.length > 1);
  }

  get identity(): boolean {
    return this.rules.length === 0;
  }

  /** A local absolute path as the action sees it (rustc's rule: the last matching remap wins). */
  toSandbox(p: string): string {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const { from, canon } = this.rules[i];
      if (p === from || p.startsWith(`${from}/`)) return canon + p.slice(from.length);
    }
    return p;
  }

  /** Rewrites the absolute paths in rustc arguments: plain paths and `NAME=PATH` values; a remap rule keeps its TO. */
  args(args: string[]): string[] {
    if (this.identity) return args;
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '--remap-path-prefix' && i + 1 < args.length) {
        out.push(a, this.remapRule(args[++i]));
      } else if (a.startsWith('--remap-path-prefix=')) {
        out.push(`--remap-path-prefix=${this.remapRule(a.slice('--remap-path-prefix='.length))}`);
      } else {
        out.push(a.replace(/(^|=)(\/[^=]*)$/, (_m, pre: string, p: string) => pre + this.toSandbox(p)));
      }
    }
    return out;
  }

  /** Text the action wrote (dep-info, diagnostics, artifact notices) with the local paths back. */
  toLocal(text: string): string {
    let t = text;
    for (const { from, canon } of this.rules) t = t.replace(new RegExp(`${escape(canon)}(?![0-9])`, 'g'), () => from);
    return t;
  }

  private remapRule(value: string): string {
    const j = value.lastIndexOf('=');
    return j < 0 ? value : `${this.toSandbox(value.slice(0, j))}${value.slice(j)}`;
  }
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
