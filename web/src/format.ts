/** Short human formats: durations, sizes, times. */

export function ms(v: number | undefined): string {
  if (v === undefined) return '–';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(v / 60_000)} min ${Math.round((v % 60_000) / 1000)} s`;
}

export function seconds(v: number): string {
  return `${v.toFixed(1)} s`;
}

export function bytes(v: number | undefined): string {
  if (v === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function clock(epochMs: number): string {
  return new Date(epochMs).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function shortId(id: string): string {
  return id === '' ? '(no invocation id)' : id.length > 13 ? `${id.slice(0, 8)}…` : id;
}

export function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((100 * part) / whole)}%` : '–';
}
