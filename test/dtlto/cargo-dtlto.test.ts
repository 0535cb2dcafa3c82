import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { copyWorkspace, LogLine, readLog, run, tempDir, WRAPPER } from '../cargo/cargo-harness';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { aimDistributor, DISTRIBUTOR, dtltoRustflags, hostTriple, LOCAL_DISTRIBUTOR } from './dtlto-helpers';
import { thinLtoProgram, ThinLtoProgram } from './thinlto-program';

const EXPECTED_OUTPUT = '{"greeting":"app 0.1.0","flavor":"squares","sum_of_squares":14,"stats":{"words":18,"distinct":13,"top":[["the",4],["dog",2],["fox",2]],"widest":"sleeps","short_words":["is","it","to"]}}\nprofile=release\n';

type JobLine = LogLine & { module: string; reason?: string };

/**
 * A release build of the fixture workspace (26 Debian crates, every one's code as bitcode) linked with DTLTO:
 * lld hands its backend compiles to bin/rustexec-dtlto, which runs them on the server's pool. The crates compile
 * once; each scenario relinks the app (touching its source) with the distributor the scenario needs.
 */
describe('rustexec-dtlto: Cargo release build with distributed ThinLTO', () => {
  let tmp: string;
  let ws: string;
  let server: ServerProcess;
  let link: string;
  let binary: string;
  let baseline: Buffer;
  const triple = hostTriple();

  const cargo = async (env: Record<string, string>) => {
    const r = await run('cargo', ['build', '--release', '--target', triple, '-j', '2'], { cwd: ws, timeoutMs: 400_000, env: { ...process.env, CARGO_TERM_COLOR: 'never', RUSTFLAGS: dtltoRustflags(link), ...env } });
    assert.equal(r.code, 0, r.stderr.slice(-6000));
    return r;
  };
  const relink = async (env: Record<string, string>) => {
    const main = path.join(ws, 'app/src/main.rs');
    const t = new Date();
    await fsp.utimes(main, t, t);
    return cargo(env);
  };
  const remoteEnv = (log: string, extra: Record<string, string> = {}) => ({ RUSTEXEC_REMOTE: `grpc://${server.address}`, RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache'), ...extra });
  const jobsOf = async (log: string) => (await readLog(log)).filter((l) => l.kind === 'thinlto-backend') as JobLine[];

  before(async () => {
    tmp = await tempDir('dtlto');
    ws = await copyWorkspace(path.join(tmp, 'ws'));
    link = path.join(tmp, 'distributor');
    binary = path.join(ws, 'target', triple, 'release/app');
    // The baseline: the trivial local distributor (common.args + job.args, one job after another).
    await aimDistributor(link, LOCAL_DISTRIBUTOR);
    const t0 = Date.now();
    await cargo({});
    console.log(`release build with the local distributor: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    baseline = await fsp.readFile(binary);
    server = await startServerProcess({ args: ['--data', path.join(tmp, 'data'), '--workers', '2'] });
  });

  after(async () => {
    await server?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  let firstJobs: JobLine[];

  it('runs every backend job on the pool; the binary is right and bit-identical to the local distributor\'s', async () => {
    await aimDistributor(link, DISTRIBUTOR);
    const log = path.join(tmp, 'remote.jsonl');
    const t0 = Date.now();
    // Through the Cargo wrapper too (it is not part of Cargo's fingerprints, so only the app recompiles): the compile
    // that links stays local, and its link's backend jobs reach the pool through the distributor.
    await relink(remoteEnv(log, { RUSTC_WRAPPER: WRAPPER }));
    const appCompile = (await readLog(log)).filter((l) => l.kind !== 'thinlto-backend');
    assert.deepEqual(appCompile.map((l) => [l.crate, l.remote]), [['app', 'local']]);
    assert.match(appCompile[0].reason ?? '', /-C linker on a compile that links/);
    firstJobs = await jobsOf(log);
    console.log(`relink through the backend: ${firstJobs.length} backend jobs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.ok(firstJobs.length >= 50, `expected ≥ 50 backend jobs, got ${firstJobs.length}`);
    assert.deepEqual(firstJobs.filter((j) => j.remote === 'local').map((j) => `${j.module}: ${j.reason}`), [], 'no backend job may run locally');
    assert.ok(firstJobs.some((j) => j.remote === 'executed'), 'a fresh server executed them');
    assert.equal((await run(binary, [], { cwd: ws })).stdout, EXPECTED_OUTPUT);
    assert.ok((await fsp.readFile(binary)).equals(baseline), 'the binary differs from the local distributor\'s');
  });

  it('with the backend down and RUSTEXEC_FALLBACK=local, runs the jobs here and links the same binary', async () => {
    await server.stop();
    try {
      const log = path.join(tmp, 'down.jsonl');
      // Its own cache dir: the unreachable marker it leaves must not send the next scenario's jobs local.
      await relink(remoteEnv(log, { RUSTEXEC_FALLBACK: 'local', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-down') }));
      const jobs = await jobsOf(log);
      assert.equal(jobs.length, firstJobs.length);
      assert.deepEqual(jobs.filter((j) => j.remote !== 'local' || !/unreachable/.test(j.reason ?? '')).map((j) => `${j.module}: ${j.remote} ${j.reason}`), []);
      assert.ok((await fsp.readFile(binary)).equals(baseline), 'the binary differs from the local distributor\'s');
    } finally {
      server = await startServerProcess({ args: ['--data', path.join(tmp, 'data'), '--workers', '2'] });
    }
  });

  it('after touching a leaf crate, most backend jobs of the relink are cache hits', async () => {
    const lib = path.join(ws, 'gen/src/lib.rs');
    // Not inlinable: rustc leaves small functions to the crates that call them, which would leave gen's code as it was.
    await fsp.appendFile(lib, '\n/// Added by the relink test.\n#[inline(never)]\npub fn touched(n: u32) -> u32 {\n    (0..n).fold(7u32, |h, i| h.rotate_left(5) ^ i.wrapping_mul(2654435761))\n}\n');
    const log = path.join(tmp, 'touched.jsonl');
    await cargo(remoteEnv(log));
    const jobs = await jobsOf(log);
    const cached = jobs.filter((j) => j.remote === 'cached');
    console.log(`relink after editing gen: ${cached.length}/${jobs.length} backend jobs were cache hits; executed: ${jobs.filter((j) => j.remote === 'executed').map((j) => path.basename(j.module)).join(', ')}`);
    assert.deepEqual(jobs.filter((j) => j.remote === 'local'), []);
    assert.ok(jobs.some((j) => j.remote === 'executed' && /libgen-/.test(j.module)), 'the edit changed gen\'s code, so its backend job ran');
    assert.ok(cached.length > jobs.length / 2, `${cached.length}/${jobs.length} cache hits`);
    assert.equal((await run(binary, [], { cwd: ws })).stdout, EXPECTED_OUTPUT);
  });

  describe('failures (a small C program linked with clang-22)', () => {
    let program: ThinLtoProgram;
    before(async () => {
      program = await thinLtoProgram(await fsp.mkdtemp(path.join(tmp, 'c-')));
    });

    it('a failing backend job fails the link with its diagnostics', async () => {
      const log = path.join(tmp, 'failing.jsonl');
      // Every backend compile gets an unknown CPU: clang on the worker rejects it.
      const err = await program.link(DISTRIBUTOR, 'bad.out', { ...process.env, ...remoteEnv(log) }, ['-Wl,--thinlto-remote-compiler-arg=-march=no-such-cpu']).then(
        () => assert.fail('the link succeeded'),
        (e: Error & { stderr?: string }) => e.stderr ?? '',
      );
      assert.match(err, /rustexec-dtlto: the ThinLTO backend compile of \S+\.(o|a\(.*\)\S*) failed \(exit code 1, executed remotely\)/);
      assert.match(err, /unknown target CPU 'no-such-cpu'/, 'clang\'s own diagnostic');
      assert.match(err, /ld\.lld.*: error/, 'lld fails the link');
      const jobs = await jobsOf(log);
      assert.ok(jobs.some((j) => j.exitCode === 1 && j.remote === 'executed'), JSON.stringify(jobs));
    });

    it('with the backend down and RUSTEXEC_FALLBACK=local, warns once and links what the local distributor links', async () => {
      const log = path.join(tmp, 'down-local.jsonl');
      const env = { ...process.env, ...remoteEnv(log), RUSTEXEC_FALLBACK: 'local', RUSTEXEC_REMOTE: 'grpc://127.0.0.1:1', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-local') };
      const out = await promisify(execFile)('clang-22', ['-flto=thin', '-fuse-ld=lld-22', `-fthinlto-distributor=${DISTRIBUTOR}`, 'main.o', 'scale.o', 'liboffset.a', '-o', 'fallback.out'], { cwd: program.dir, env });
      assert.equal(out.stderr.match(/rustexec-dtlto: warning: .*unreachable.*running backend jobs locally/g)?.length, 1, out.stderr);
      const want = await program.link(LOCAL_DISTRIBUTOR, 'local.out');
      assert.ok((await fsp.readFile(path.join(program.dir, 'fallback.out'))).equals(want));
      const jobs = await jobsOf(log);
      assert.equal(jobs.length, 3);
      assert.deepEqual(jobs.map((j) => j.remote), ['local', 'local', 'local']);
    });

    it('with the backend down and RUSTEXEC_FALLBACK=fail, the link fails and says why', async () => {
      const env = { ...process.env, ...remoteEnv(path.join(tmp, 'down-fail.jsonl')), RUSTEXEC_REMOTE: 'grpc://127.0.0.1:1', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-fail') };
      const err = await program.link(DISTRIBUTOR, 'down.out', env).then(
        () => assert.fail('the link succeeded'),
        (e: Error & { stderr?: string }) => e.stderr ?? '',
      );
      assert.match(err, /rustexec-dtlto: .*the backend at grpc:\/\/127\.0\.0\.1:1 is unreachable[\s\S]*RUSTEXEC_FALLBACK=fail/);
    });
  });
});
