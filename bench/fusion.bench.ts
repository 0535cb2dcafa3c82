import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { buildFlags, runBazel, ServerProcess, startServerProcess } from '../test/e2e/bazel-harness';
import { makeRustExampleWorkspace, RUST_EXAMPLE } from '../test/e2e/rust-example';
import { childPids, processCpuSeconds, reapedChildrenCpuSeconds, report } from './bench-util';

const run = promisify(execFile);

interface BuildRun {
  wall: number;
  /** rustc CPU seconds (the scheduler's per-build accounting). */
  cpu: number;
  /** CPU seconds of the Bazel server JVM, and of our server and worker processes (without rustc), in that build. */
  bazelCpu: number;
  backendCpu: number;
}

/**
 * A clean pipelined build of the rules_rust example through the backend with fusion on vs off (medians of three: wall time, and
 * the rustc CPU seconds from the scheduler's per-build accounting), next to a local `cargo build` of the same crates
 * (Cargo pointed offline at Debian's sources; same opt-level 0 and no debug info as Bazel's fastbuild). Also prints
 * where the CPU went: client, server and workers share this machine's cores with rustc.
 */
export async function fusionBench(): Promise<void> {
  const results: Record<string, BuildRun> = {};
  for (const fusion of [true, false]) {
    const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-fusion-'));
    const server = await startServerProcess({ args: ['--data', data, '--workers', String(os.cpus().length), `--rust-fusion=${fusion}`] });
    const ws = await makeRustExampleWorkspace();
    try {
      // The example's --config=remote: every ready action goes to the scheduler, only top-level outputs come back.
      const flags = [...buildFlags({ remoteExecutor: server.port }), '--noremote_accept_cached', '--jobs=32', '--remote_download_toplevel'];
      await runBazel(ws, ['build', ...flags, '//...'], { timeoutMs: 900_000 }); // uploads the toolchain, warms worker caches
      const bazelPid = Number(await fsp.readFile(path.join(ws.outputBase, 'server/server.pid.txt'), 'utf8'));
      const backendCpu = () => [server.child.pid!, ...childPids(server.child.pid!)].reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
      const runs: BuildRun[] = [];
      for (let i = 0; i < 3; i++) {
        await runBazel(ws, ['clean']);
        const [bazel0, backend0] = [processCpuSeconds(bazelPid), backendCpu()];
        const t = process.hrtime.bigint();
        await runBazel(ws, ['build', ...flags, '//...'], { timeoutMs: 900_000 });
        const wall = Number(process.hrtime.bigint() - t) / 1e9;
        const [bazelCpu, backend] = [processCpuSeconds(bazelPid) - bazel0, backendCpu() - backend0];
        runs.push({ wall, cpu: await buildCpu(server, i + 2), bazelCpu, backendCpu: backend });
      }
      results[fusion ? 'on' : 'off'] = { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)), bazelCpu: median(runs.map((r) => r.bazelCpu)), backendCpu: median(runs.map((r) => r.backendCpu)) };
    } finally {
      await ws.cleanup();
      await server.stop();
      await fsp.rm(data, { recursive: true, force: true });
    }
  }
  const cargo = await cargoBuild();
  const on = results.on;
  const off = results.off;
  report('fusion: rustc CPU, clean pipelined build, fusion off', off.cpu, 's');
  report('fusion: rustc CPU, clean pipelined build, fusion on', on.cpu, 's', `ratio ${(on.cpu / off.cpu).toFixed(2)}× unfused (target ≤ 0.7)`);
  report('fusion: wall, clean pipelined build, fusion off', off.wall, 's');
  report('fusion: wall, clean pipelined build, fusion on', on.wall, 's', `ratio ${(on.wall / off.wall).toFixed(2)}× unfused (target ≤ 0.9)`);
  report('fusion: wall, local cargo build of the same crates', cargo.wall, 's', `backend with fusion: ${(on.wall / cargo.wall).toFixed(2)}× Cargo (target ≤ 1.0)`);
  // Everything runs on this machine's cores: the wall time can't be below (all CPU) / cores, whatever the scheduling.
  const cores = os.cpus().length;
  report('fusion: CPU of one fused build: rustc', on.cpu, 's');
  report('fusion: CPU of one fused build: Bazel server (JVM)', on.bazelCpu, 's');
  report('fusion: CPU of one fused build: our server and workers', on.backendCpu, 's');
  report('fusion: CPU of the local cargo build (everything)', cargo.cpu, 's');
  const floor = (on.cpu + on.bazelCpu) / cores;
  report(`fusion: wall floor on ${cores} cores with a zero-cost backend`, floor, 's', `(rustc + Bazel CPU) / cores = ${(floor / cargo.wall).toFixed(2)}× Cargo`);
}

/** rustc CPU seconds of the `n`-th build summary the scheduler logs (one per Bazel invocation, after 2 s idle). */
async function buildCpu(server: ServerProcess, n: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const s = server.logRecords().filter((r) => typeof r.rustcCpuSpentSeconds === 'number');
    if (s.length >= n) return s[n - 1].rustcCpuSpentSeconds as number;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no build summary logged');
}

/** Median of three clean `cargo build`s of a Cargo workspace with the example's crates and sources (wall, CPU s). */
async function cargoBuild(): Promise<{ wall: number; cpu: number }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-cargo-'));
  const w = (f: string, text: string) => fsp.mkdir(path.dirname(path.join(dir, f)), { recursive: true }).then(() => fsp.writeFile(path.join(dir, f), text));
  const pkg = (name: string, deps: string, extra = '') => `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n${extra}[dependencies]\n${deps}`;
  await w('.cargo/config.toml', '[source.crates-io]\nreplace-with = "debian"\n[source.debian]\ndirectory = "/usr/share/cargo/registry"\n[net]\noffline = true\n');
  await w('Cargo.toml', '[workspace]\nmembers = ["wordfreq", "textreport", "bins"]\nresolver = "2"\n[profile.dev]\ndebug = 0\n');
  await w('wordfreq/Cargo.toml', pkg('wordfreq', 'fnv = "1"\nitertools = "0.10"\nregex = "1.7"\n'));
  await w('textreport/Cargo.toml', pkg('textreport', 'wordfreq = { path = "../wordfreq" }\nitoa = "1"\nserde_json = "1"\nunicode-width = "0.1"\n'));
  const bins = '[[bin]]\nname = "wordfreq"\npath = "wordfreq.rs"\n[[bin]]\nname = "logscan"\npath = "logscan.rs"\n';
  await w('bins/Cargo.toml', pkg('bins', 'textreport = { path = "../textreport" }\nwordfreq = { path = "../wordfreq" }\naho-corasick = "0.7"\nitertools = "0.10"\nmemchr = "2"\nregex = "1.7"\nserde_json = "1"\n', bins));
  await fsp.cp(path.join(RUST_EXAMPLE, 'lib/wordfreq/src'), path.join(dir, 'wordfreq/src'), { recursive: true });
  await fsp.cp(path.join(RUST_EXAMPLE, 'lib/textreport/src'), path.join(dir, 'textreport/src'), { recursive: true });
  await fsp.copyFile(path.join(RUST_EXAMPLE, 'bin/wordfreq/main.rs'), path.join(dir, 'bins/wordfreq.rs'));
  await fsp.copyFile(path.join(RUST_EXAMPLE, 'bin/logscan/main.rs'), path.join(dir, 'bins/logscan.rs'));
  try {
    const runs: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < 3; i++) {
      await run('cargo', ['clean', '-q'], { cwd: dir });
      const [t, cpu0] = [process.hrtime.bigint(), reapedChildrenCpuSeconds()];
      await run('cargo', ['build', '-q'], { cwd: dir });
      runs.push({ wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: reapedChildrenCpuSeconds() - cpu0 });
    }
    return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The middle value (CPU on two shared cores varies by ±10% from build to build; one outlier must not decide). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
