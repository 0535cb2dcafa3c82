import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dispatchLatencies, JobTimings, percentile } from '../src/dtlto/job-timings';
import { statFields, TICKS_PER_SECOND } from '../src/worker/process-group-cpu';
import { copyWorkspace, run, tempDir } from '../test/cargo/cargo-harness';
import { aimDistributor, DISTRIBUTOR, dtltoRustflags, hostTriple } from '../test/dtlto/dtlto-helpers';
import { startServerProcess } from '../test/e2e/server-process';
import { childPids, median } from './bench-util';
import { MeasuredLink, simulatedLinkMs } from './dtlto-simulation';

interface Timed {
  wallMs: number;
  /** User + system CPU of the link's own process tree (clang, lld, the distributor). */
  cpuS: number;
}

/** A live process's CPU including its reaped children (a worker's finished clang jobs). */
function treeCpuSeconds(pid: number): number {
  try {
    const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The linker command rustc ran, from `--print link-args` (`ENV="…" "clang-22" "arg" …`). */
export function parseLinkArgs(text: string): string[] {
  const line = text.split('\n').find((l) => /"clang-\d+"/.test(l));
  if (!line) throw new Error(`no clang link line in rustc's --print link-args output:\n${text.slice(0, 2000)}`);
  const from = line.search(/"clang-\d+"/);
  return [...line.slice(from).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
}

async function timedLink(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Timed> {
  const t = Date.now();
  const r = await run('/usr/bin/time', ['-f', 'RUSTEXEC-TIME %U %S', ...argv], { cwd, env });
  if (r.code !== 0) throw new Error(`link failed (${r.code}):\n${r.stderr.slice(-4000)}`);
  const m = /RUSTEXEC-TIME ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wallMs: Date.now() - t, cpuS: m ? Number(m[1]) + Number(m[2]) : NaN };
}

type JobLine = { remote: string; start: number; end: number; timings?: JobTimings };

/**
 * Distributed ThinLTO on the fixture workspace's release binary (26 crates as bitcode, 73 backend jobs), one run each
 * on this machine's cores: the link with lld's in-process ThinLTO (--thinlto-jobs = cores) vs the same link with
 * rustexec-dtlto through an `npm start`-style server with one worker per core; job count, per-job dispatch latency
 * (goal p50 ≤ 5 ms), and from the measured job durations (CPU time of each job run alone, which the machine's load
 * does not inflate as it does wall time) the link's wall time on 1/8/32/128 workers, against in-process ThinLTO on
 * this machine's cores in the same model (and as measured).
 * Alone: `npm run build && flock /tmp/rustexec-bench.lock node dist/bench/dtlto.bench.js`.
 */
export async function dtltoBench(): Promise<void> {
  const cores = os.cpus().length;
  const tmp = await tempDir('bench-dtlto');
  const ws = await copyWorkspace(path.join(tmp, 'ws'));
  const link = path.join(tmp, 'distributor');
  const triple = hostTriple();
  try {
    // Build every crate and print the app's link line; the link itself fails on purpose (its distributor is
    // `false`), -Csave-temps keeps rustc's temporary link inputs so the line can be replayed.
    await aimDistributor(link, '/bin/false');
    const env = { ...process.env, CARGO_TERM_COLOR: 'never', RUSTFLAGS: dtltoRustflags(link) };
    const build = await run('cargo', ['rustc', '-p', 'app', '--bin', 'app', '--release', '--target', triple, '--', '-Csave-temps', '--print', 'link-args'], { cwd: ws, env });
    const argv = parseLinkArgs(build.stdout);
    const withOut = (out: string, drop: (a: string) => boolean, extra: string[]) => {
      const a = argv.filter((x) => !drop(x));
      a[a.indexOf('-o') + 1] = path.join(tmp, out);
      return [...a, ...extra];
    };
    const isDistributor = (a: string) => a.startsWith('-fthinlto-distributor=');

    const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`dtlto: load average before ${load()}, ${cores} cores`);
    const inProcess = await timedLink(withOut('in-process', isDistributor, [`-Wl,--thinlto-jobs=${cores}`]), ws, process.env);
    // Each job's CPU time, one after another here: what it costs a dedicated core, however loaded this machine is
    // (wall times under load are not). The rest of that link's CPU is lld's serial work (thin link, final link).
    const timer = path.join(tmp, 'timing-distributor.sh');
    await fsp.writeFile(timer, `#!/bin/sh\nexec node ${path.join(__dirname, 'timing-distributor.js')} "$@"\n`, { mode: 0o755 });
    const times = path.join(tmp, 'times.json');
    const timed = await timedLink(withOut('timed', isDistributor, [`-fthinlto-distributor=${timer}`]), ws, { ...process.env, DTLTO_TIMES: times });
    const jobCpuMs = JSON.parse(await fsp.readFile(times, 'utf8')) as number[];
    const serialCpuMs = timed.cpuS * 1000 - jobCpuMs.reduce((a, b) => a + b, 0);

    const server = await startServerProcess({ args: ['--data', path.join(tmp, 'data'), '--workers', String(cores)] });
    try {
      const serverPids = () => [server.child.pid!, ...childPids(server.child.pid!)];
      const log = path.join(tmp, 'dtlto.jsonl');
      const remoteEnv = (salt: string, logFile: string) => ({ ...process.env, RUSTEXEC_REMOTE: `grpc://${server.address}`, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_LOG: logFile, RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache'), RUSTEXEC_SALT: salt });
      const remoteArgv = withOut('dtlto', isDistributor, [`-fthinlto-distributor=${DISTRIBUTOR}`]);
      // A first link fills the CAS (the bitcode modules) and warms the workers, as any earlier build would have.
      await timedLink(remoteArgv, ws, remoteEnv('warm-up', path.join(tmp, 'warm.jsonl')));
      const serverCpu0 = serverPids().reduce((s, p) => s + treeCpuSeconds(p), 0);
      // A fresh salt: every job misses the cache and runs.
      const salt = `bench-${Date.now()}`;
      const dtlto = await timedLink(remoteArgv, ws, remoteEnv(salt, log));
      const serverCpu = serverPids().reduce((s, p) => s + treeCpuSeconds(p), 0) - serverCpu0;
      const relinked = await timedLink(remoteArgv, ws, remoteEnv(salt, path.join(tmp, 'cached.jsonl')));

      const jobs = (await fsp.readFile(log, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as JobLine);
      const timings = jobs.map((j) => j.timings).filter((t): t is JobTimings => !!t);
      if (jobs.some((j) => j.remote !== 'executed') || timings.length !== jobs.length) throw new Error(`expected every job executed with timings: ${JSON.stringify(jobs.slice(0, 3))}`);
      const dispatch = dispatchLatencies(timings);
      const execMs = timings.map((t) => t.executionEnd - t.executionStart);
      // Beyond the compile: the worker fetching inputs and uploading the output, plus dispatch.
      const overheadMs = median(timings.map((t) => t.workerEnd - t.workerStart - (t.executionEnd - t.executionStart))) + percentile(dispatch, 50);
      const measured: MeasuredLink = { serialMs: serialCpuMs, jobMs: jobCpuMs, perJobOverheadMs: overheadMs };
      // In-process ThinLTO on dedicated cores, at best: the serial part, then its code generation CPU spread perfectly.
      const inProcessCodegenMs = inProcess.cpuS * 1000 - serialCpuMs;
      const inProcessSimMs = serialCpuMs + inProcessCodegenMs / cores;
      const same = (await fsp.readFile(path.join(tmp, 'in-process'))).equals(await fsp.readFile(path.join(tmp, 'dtlto')));

      const row = (name: string, value: string, note = '') => console.log(`dtlto: ${name.padEnd(52)} ${value.padStart(12)}${note ? `  ${note}` : ''}`);
      row(`in-process ThinLTO link (--thinlto-jobs=${cores})`, `${(inProcess.wallMs / 1000).toFixed(1)} s`, `CPU ${inProcess.cpuS.toFixed(1)} s`);
      row(`DTLTO link through the backend (${cores} workers)`, `${(dtlto.wallMs / 1000).toFixed(1)} s`, `CPU ${dtlto.cpuS.toFixed(1)} s here + ${serverCpu.toFixed(1)} s server and workers; ${(dtlto.wallMs / inProcess.wallMs).toFixed(2)}× in-process wall`);
      const relinkJobs = (await fsp.readFile(path.join(tmp, 'cached.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as JobLine);
      row('DTLTO relink of the same program', `${(relinked.wallMs / 1000).toFixed(1)} s`, `CPU ${relinked.cpuS.toFixed(1)} s here; ${relinkJobs.filter((j) => j.remote === 'cached').length}/${relinkJobs.length} jobs cache hits`);
      row('backend jobs', String(jobs.length), `CPU per job p50 ${percentile(jobCpuMs, 50).toFixed(0)} ms, p90 ${percentile(jobCpuMs, 90).toFixed(0)} ms, sum ${(jobCpuMs.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s (wall on the loaded workers: p50 ${percentile(execMs, 50).toFixed(0)} ms)`);
      row('dispatch latency per job p50 (goal ≤ 5 ms)', `${percentile(dispatch, 50).toFixed(2)} ms`, `p90 ${percentile(dispatch, 90).toFixed(2)} ms; per-job overhead beyond the compile ${overheadMs.toFixed(0)} ms`);
      row('binary identical to in-process ThinLTO', same ? 'yes' : 'no');
      row('serial CPU of the link (thin link, final link)', `${(serialCpuMs / 1000).toFixed(1)} s`);
      row('backend jobs\' CPU run one by one vs in-process codegen CPU', `${(jobCpuMs.reduce((a, b) => a + b, 0) / inProcessCodegenMs).toFixed(2)}×`, 'a clang process per module starts up and re-reads the modules it imports');
      row(`in-process ThinLTO on ${cores} dedicated cores (at best)`, `${(inProcessSimMs / 1000).toFixed(1)} s`, `serial + codegen CPU / ${cores}; measured here under load: ${(inProcess.wallMs / 1000).toFixed(1)} s`);
      for (const w of [1, 8, 32, 128]) row(`simulated DTLTO link on ${w} worker${w === 1 ? '' : 's'}`, `${(simulatedLinkMs(measured, w) / 1000).toFixed(1)} s`, `${(simulatedLinkMs(measured, w) / inProcessSimMs).toFixed(2)}× in-process ThinLTO on ${cores} cores`);
      console.log(`dtlto: load average after ${load()}`);
    } finally {
      await server.stop();
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  dtltoBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
