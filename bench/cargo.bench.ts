import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServerProcess } from '../test/e2e/server-process';
import { copyWorkspace, run, tempDir, wrapperEnv } from '../test/cargo/cargo-harness';
import { report } from './bench-util';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const spread = (xs: number[]) => `runs ${xs.map((x) => (x / 1000).toFixed(1)).join('/')} s`;

/**
 * Cargo through rustexec-rustc on the fixture workspace (26 crates, 10 build scripts, a proc-macro), all on this
 * machine's cores: a clean build with the wrapper vs plain Cargo (bar ≤ 1.3×), and the cached rebuild after
 * `cargo clean` vs Debian's sccache with its local disk cache (goal ≤ 1.0×). Alternating runs, medians of `n`.
 * Run alone: `npm run build && flock /tmp/rustexec-bench.lock node dist/bench/cargo.bench.js` (CARGO_BENCH_RUNS=N, default 3).
 */
export async function cargoBench(n = Number(process.env.CARGO_BENCH_RUNS ?? 3)): Promise<void> {
  const tmp = await tempDir('bench-cargo');
  const data = path.join(tmp, 'data');
  const server = await startServerProcess({ args: ['--data', data, '--workers', String(os.cpus().length)] });
  const ws = await copyWorkspace(path.join(tmp, 'ws'));
  const cache = path.join(tmp, 'cache');
  const cargo = async (args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const t = process.hrtime.bigint();
    const r = await run('cargo', args, { cwd: ws, env });
    if (r.code !== 0) throw new Error(`cargo ${args.join(' ')} failed:\n${r.stderr.slice(-4000)}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const clean = () => cargo(['clean', '-q']);
  // A fresh salt per run: every action misses the cache and really runs on the workers (the CAS stays warm).
  const remote = (salt: string) => wrapperEnv(server.address, { RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: cache, ...(salt ? { RUSTEXEC_SALT: salt } : {}) });
  const sccacheEnv = { ...process.env, RUSTC_WRAPPER: 'sccache', SCCACHE_DIR: path.join(tmp, 'sccache'), SCCACHE_SERVER_PORT: '4227', SCCACHE_IDLE_TIMEOUT: '0' };
  try {
    // Unsalted: this run also fills the action cache the cached rebuilds below use.
    report('cargo: load average (1 min) at start', os.loadavg()[0], '');
    const first = await cargo(['build', '-j', '8'], remote(''));
    report('cargo: first build ever through the backend (uploads toolchain)', first / 1000, 's');
    const local: number[] = [];
    const wrapped: number[] = [];
    for (let i = 0; i < n; i++) {
      await clean();
      local.push(await cargo(['build']));
      await clean();
      wrapped.push(await cargo(['build', '-j', '8'], remote(`clean-${Date.now()}-${i}`)));
    }
    report('cargo: clean build, plain cargo', median(local) / 1000, 's', spread(local));
    report('cargo: clean build through rustexec-rustc', median(wrapped) / 1000, 's', `ratio ${(median(wrapped) / median(local)).toFixed(2)}× plain (bar ≤ 1.3); ${spread(wrapped)}`);

    await run('sccache', ['--stop-server'], { cwd: ws, env: sccacheEnv });
    await clean();
    await cargo(['build', '-j', '8'], sccacheEnv); // fills sccache's disk cache
    const sccache: number[] = [];
    const hits: number[] = [];
    for (let i = 0; i < n; i++) {
      await clean();
      sccache.push(await cargo(['build', '-j', '8'], sccacheEnv));
      await clean();
      hits.push(await cargo(['build', '-j', '8'], remote('')));
    }
    report('cargo: cached rebuild after cargo clean, sccache (local disk)', median(sccache) / 1000, 's', spread(sccache));
    report('cargo: cached rebuild after cargo clean, rustexec-rustc', median(hits) / 1000, 's', `ratio ${(median(hits) / median(sccache)).toFixed(2)}× sccache (goal ≤ 1.0); ${spread(hits)}`);
    report('cargo: load average (1 min) at end', os.loadavg()[0], '');
  } finally {
    await run('sccache', ['--stop-server'], { cwd: tmp, env: sccacheEnv }).catch(() => undefined);
    await server.stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  cargoBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
