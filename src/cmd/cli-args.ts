/** Minimal `--flag value` / `--flag=value` / `--switch` parsing; unknown flags are errors. */
export function parseArgs(argv: string[], spec: Record<string, 'string' | 'boolean'>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in spec)) throw new Error(`unknown argument "${argv[i]}" (known: ${Object.keys(spec).map((k) => `--${k}`).join(' ')})`);
    const [, name, inline] = m;
    if (spec[name] === 'boolean') out[name] = inline === undefined ? true : inline !== 'false';
    else {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`--${name} needs a value`);
      out[name] = v;
    }
  }
  return out;
}
