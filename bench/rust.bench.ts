import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildFlags, runBazel, startServerProcess } from '../test/e2e/bazel-harness';
import { makeRustExampleWorkspace } from '../test/e2e/rust-example';
import { median, processCpuSecondsPrecise, report } from './bench-util';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/**
 * The offline rules_rust example (14 libraries, 2 binaries, pipelined): clean build through the backend vs a local
 * Bazel build, cached rebuild through the backend vs a local --disk_cache rebuild, and input-root materialisation
 * times (the first rustc action on a worker downloads the ~500 MB toolchain; later ones hardlink it).
 */
export async function rustBench(): Promise<void> {
  const data = await fsp.mkdtemp(path.join(os.tmpdir(), 'bench-rust-data-'));
  const server = await startServerProcess({ args: ['--data', data, '--workers', String(os.cpus().length)] });
  const ws = await makeRustExampleWorkspace();
  const diskCache = path.join(ws.root, 'disk-cache');
  const build = (flags: string[]) => runBazel(ws, ['build', ...flags, '//...'], { timeoutMs: 900_000 });
  // Remote builds use more Bazel jobs than local cores, as one does with remote execution.
  const remote = [...buildFlags({ remoteExecutor: server.port }), '--jobs=8'];
  const clean = () => runBazel(ws, ['clean']);
  try {
    // Cold: fresh server and workers; uploads the toolchain once, each worker downloads it once.
    const cold = await timed(() => build(remote));
    report('rust: first build ever through the backend (uploads toolchain)', cold / 1000, 's');
    const fetches = server
      .logRecords()
      .filter((r) => r.msg === 'action completed' && typeof r.inputFetchMs === 'number' && /^Rustc/.test(String(r.mnemonic ?? 'Rustc')))
      .map((r) => ({ worker: String(r.worker), ms: r.inputFetchMs as number }));
    const firstPerWorker = new Map<string, number>();
    const following: number[] = [];
    for (const f of fetches) {
      if (!firstPerWorker.has(f.worker)) firstPerWorker.set(f.worker, f.ms);
      else following.push(f.ms);
    }
    report('rust: input root, first rustc action on a worker (median)', median([...firstPerWorker.values()]), 'ms', `(${firstPerWorker.size} workers)`);
    report('rust: input root, following rustc actions (median)', median(following), 'ms', `(${following.length} actions; max ${Math.max(...following)} ms)`);

    // RUST_BENCH_ROWS=cached skips the clean-build comparison (the cold build above still fills the cache).
    if (process.env.RUST_BENCH_ROWS !== 'cached') {
      await clean();
      await build(buildFlags()); // warm Bazel's analysis cache for the local measurement
      await clean();
      const local = await timed(() => build(buildFlags()));
      await clean();
      // --noremote_accept_cached: every action really runs on the workers (toolchain already there).
      const cleanRemote = await timed(() => build([...remote, '--noremote_accept_cached']));
      report('rust: clean build, local Bazel', local / 1000, 's');
      report('rust: clean build through the backend', cleanRemote / 1000, 's', `ratio ${(cleanRemote / local).toFixed(2)}× local (target ≤ 1.25)`);
    }

    await clean();
    await build([...buildFlags(), `--disk_cache=${diskCache}`]);
    // Cached rebuilds take about a second, so take the median of five alternating runs of each.
    const diskHits: number[] = [];
    const remoteHits: number[] = [];
    const remoteCpu: number[] = [];
    // The frontend's CPU (the all-in-one process; its workers are other processes and run nothing on a cache hit).
    const serverCpu = () => processCpuSecondsPrecise(server.child.pid!);
    for (let i = 0; i < 5; i++) {
      await clean();
      diskHits.push(await timed(() => build([...buildFlags(), `--disk_cache=${diskCache}`])));
      await clean();
      const c0 = serverCpu();
      remoteHits.push(await timed(() => build(remote)));
      remoteCpu.push((serverCpu() - c0) * 1000);
    }
    const diskHit = median(diskHits);
    const remoteHit = median(remoteHits);
    report('rust: cached rebuild, local --disk_cache', diskHit / 1000, 's');
    const ratios = remoteHits.map((t, i) => t / diskHits[i]);
    report('rust: cached rebuild through the backend', remoteHit / 1000, 's', `ratio ${(remoteHit / diskHit).toFixed(2)}× disk cache (medians of 5; per-pair ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; goal ≤ 1.2)`);
    report('rust: server CPU per cached rebuild', median(remoteCpu), 'ms', `(${Math.min(...remoteCpu).toFixed(0)}–${Math.max(...remoteCpu).toFixed(0)}; ≈ 400 ms before #15)`);
  } finally {
    await ws.cleanup();
    await server.stop();
    await fsp.rm(data, { recursive: true, force: true });
  }
}

if (require.main === module) {
  // Alone: flock /tmp/rustexec-bench.lock node dist/bench/rust.bench.js (RUST_BENCH_ROWS=cached: cached rebuilds only).
  rustBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
