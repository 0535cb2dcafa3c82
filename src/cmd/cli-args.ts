export type FlagType = 'string' | 'boolean' | 'repeated';

/**
 * Minimal `--flag value` / `--flag=value` / `--switch` parsing; unknown flags are errors.
 * A 'repeated' flag may be given several times and yields a string[] (empty when absent).
 */
export function parseArgs(argv: string[], spec: Record<string, 'string' | 'boolean'>): Record<string, string | boolean>;
export function parseArgs(argv: string[], spec: Record<string, FlagType>): Record<string, string | boolean | string[]>;
export function parseArgs(argv: string[], spec: Record<string, FlagType>): Record<string, string | boolean | string[]> {
  const out: Record<string, string | boolean | string[]> = {};
  for (const [name, type] of Object.entries(spec)) if (type === 'repeated') out[name] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in spec)) throw new Error(`unknown argument "${argv[i]}" (known: ${Object.keys(spec).map((k) => `--${k}`).join(' ')})`);
    const [, name, inline] = m;
    if (spec[name] === 'boolean') out[name] = inline === undefined ? true : inline !== 'false';
    else {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`--${name} needs a value`);
      if (spec[name] === 'repeated') (out[name] as string[]).push(v);
      else out[name] = v;
    }
  }
  return out;
}
