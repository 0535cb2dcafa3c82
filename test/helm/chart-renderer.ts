import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The chart, relative to this compiled file (dist/test/helm → repo root). */
export const CHART_DIR = path.join(__dirname, '../../../helm/rustexec');
const RENDERER_SOURCE = path.join(__dirname, '../../../test/helm/render/main.go');

export interface RenderedObject {
  source: string;
  object: { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [k: string]: unknown };
}

export interface Chart {
  /** Every rendered Kubernetes object, and the NOTES.txt text. */
  render(values?: Record<string, unknown>): Promise<{ objects: RenderedObject['object'][]; notes: string }>;
  /** values.yaml merged with `values` (what values.schema.json checks). */
  values(values?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Builds test/helm/render (Go text/template + sprig, Helm's engine; Debian's golang-go and
 * golang-github-masterminds-sprig-dev, offline in GOPATH mode) once, and renders the chart with it.
 */
export async function buildChartRenderer(release = 'rx', namespace = 'ci'): Promise<Chart> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-helm-'));
  await fsp.mkdir(path.join(dir, 'src/render'), { recursive: true });
  await fsp.copyFile(RENDERER_SOURCE, path.join(dir, 'src/render/main.go'));
  const env = { ...process.env, GO111MODULE: 'off', GOPATH: `/usr/share/gocode:${dir}`, GOCACHE: path.join(os.tmpdir(), 'rustexec-helm-gocache'), GOFLAGS: '' };
  await run('go', ['build', '-o', path.join(dir, 'render'), 'render'], { cwd: dir, env });
  let n = 0;
  const exec = async (flags: string[], values: Record<string, unknown>) => {
    const file = path.join(dir, `values-${n++}.json`);
    await fsp.writeFile(file, JSON.stringify(values)); // JSON is YAML
    const { stdout } = await run(path.join(dir, 'render'), [...flags, CHART_DIR, release, namespace, file], { maxBuffer: 64 * 1024 * 1024 });
    return JSON.parse(stdout);
  };
  return {
    render: async (values = {}) => {
      const out = (await exec([], values)) as ({ source: string; object: RenderedObject['object'] } | { source: string; text: string })[];
      return { objects: out.flatMap((r) => ('object' in r ? [r.object] : [])), notes: out.flatMap((r) => ('text' in r ? [r.text] : [])).join('') };
    },
    values: (values = {}) => exec(['-values'], values),
    close: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}
