/** A parsed Prometheus text page: `# TYPE` per metric family and every sample with its labels. */
export interface PrometheusPage {
  types: Map<string, string>;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Parses the text exposition format (enough of it for the pages prom-client writes). */
export function parsePrometheus(text: string): PrometheusPage {
  const types = new Map<string, string>();
  const samples: PrometheusPage['samples'] = [];
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf(page: PrometheusPage, name: string, match: Record<string, string> = {}): number {
  return page.samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

export async function scrape(url: string, token?: string): Promise<PrometheusPage> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return parsePrometheus(await res.text());
}
