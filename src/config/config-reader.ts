/** Small strict readers for config values: every error names the JSON path, and unknown keys are rejected. */
export class ConfigError extends Error {}

type Json = unknown;

export function expectObject(v: Json, at: string, allowed: readonly string[]): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${at}: expected an object`);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new ConfigError(`${at}: unknown key "${k}" (allowed: ${allowed.join(', ') || 'none'})`);
  }
  return v as Record<string, Json>;
}

/** A `{ kind: {...} }` object with exactly one key out of `kinds`. */
export function expectOneOf(v: Json, at: string, kinds: readonly string[]): [string, Json] {
  const o = expectObject(v, at, kinds);
  const keys = Object.keys(o);
  if (keys.length !== 1) throw new ConfigError(`${at}: expected exactly one of ${kinds.join(', ')}, got ${keys.length ? keys.join(', ') : 'none'}`);
  return [keys[0], o[keys[0]]];
}

export function expectString(v: Json, at: string): string {
  if (typeof v !== 'string') throw new ConfigError(`${at}: expected a string`);
  return v;
}

export function expectBoolean(v: Json, at: string): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(`${at}: expected true or false`);
  return v;
}

export function expectInteger(v: Json, at: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ConfigError(`${at}: expected an integer ≥ ${min}`);
  return v;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** A byte size: a number, or a string like "50gb", "512MiB", "1.5 GB". */
export function expectSize(v: Json, at: string): number {
  if (typeof v === 'number') return expectInteger(v, at);
  const m = typeof v === 'string' ? /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(v) : null;
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`${at}: expected a size like 1048576, "100mb" or "50GiB", got ${JSON.stringify(v)}`);
  return Math.floor(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration in milliseconds: a number of ms, or a string like "30s", "5m", "250ms". */
export function expectDuration(v: Json, at: string): number {
  if (typeof v === 'number') return expectInteger(v, at);
  const m = typeof v === 'string' ? /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)\s*$/.exec(v) : null;
  if (!m) throw new ConfigError(`${at}: expected a duration like "30s", "5m" or 250, got ${JSON.stringify(v)}`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]]);
}

export function optional<T>(o: Record<string, Json>, key: string, at: string, read: (v: Json, at: string) => T, fallback: T): T {
  return o[key] === undefined ? fallback : read(o[key], `${at}.${key}`);
}
