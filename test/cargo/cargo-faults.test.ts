import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it, TestContext } from 'node:test';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { readLog, run, seededCacheDir, smallWorkspace, tempDir, toolchainDigestSeed, WRAPPER, wrapperEnv } from './cargo-harness';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return `127.0.0.1:${port}`;
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** Shows the wrapper's own messages in the test report (the evidence of what a user sees). */
function said(t: TestContext, stderr: string, prefix = ''): void {
  for (const line of stderr.split('\n').filter((l) => l.startsWith('rustexec-rustc'))) t.diagnostic(`${prefix}${line}`);
}

/** Actions waiting for a worker, from the server's /metrics. */
async function queuedActions(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('rustexec_queue_actions'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await cond()); ) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('rustexec-rustc faults: backend down or lost, compile errors, unreadable inputs', () => {
  let tmp: string;
  let server: ServerProcess;
  let seed: string;
  // The loss and no-worker cases (last in this file) start short-lived servers of their own, one after another, on
  // the data directory of the first server, stopped for them: the toolchain reaches a CAS (and a worker's file cache)
  // once per test file, not once per server.
  const aux = async () => {
    await server.stop();
    return path.join(tmp, 'data');
  };
  // Each case keeps its own RUSTEXEC_CACHE_DIR (markers of an outage are per build), seeded with the toolchain's digests.
  const cacheDir = (name: string) => seededCacheDir(path.join(tmp, name), seed);

  before(async () => {
    tmp = await tempDir('cargo-faults');
    seed = await toolchainDigestSeed(path.join(tmp, 'seed'));
    server = await startServerProcess({ args: ['--data', path.join(tmp, 'data'), '--workers', '1'] });
  });
  after(async () => {
    await server?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('backend down at start: fallback=local builds locally and warns once; fallback=fail fails naming the backend', async (t) => {
    const down = await closedPort();
    const ws = await smallWorkspace(path.join(tmp, 'down'));
    const log = path.join(tmp, 'down.jsonl');
    const ok = await run('cargo', ['build', '-j', '1'], { cwd: ws, env: wrapperEnv(down, { RUSTEXEC_LOG: log, RUSTEXEC_CACHE_DIR: await cacheDir('cache-down') }) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(count(ok.stderr, 'rustexec-rustc: warning:'), 1, ok.stderr);
    assert.match(ok.stderr, new RegExp(`backend at grpc://${down} is unreachable.*compiling locally`));
    said(t, ok.stderr);
    assert.equal((await run(path.join(ws, 'target/debug/app'), [], { cwd: ws })).stdout, '42\n');
    const lines = await readLog(log);
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => l.remote === 'local' && /unreachable/.test(l.reason ?? '')), JSON.stringify(lines));

    const ws2 = await smallWorkspace(path.join(tmp, 'down-fail'));
    const fail = await run('cargo', ['build', '-j', '1'], { cwd: ws2, env: wrapperEnv(down, { RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: await cacheDir('cache-down-fail') }) });
    assert.notEqual(fail.code, 0);
    assert.match(fail.stderr, new RegExp(`rustexec-rustc: error: the backend at grpc://${down} is unreachable \\(.*ECONNREFUSED.*\\); failing \\(RUSTEXEC_FALLBACK=fail\\)`));
    said(t, fail.stderr);
  });

  it('reports a compile error exactly as rustc does (same Cargo output and exit code), not as a backend error', async () => {
    const plainWs = await smallWorkspace(path.join(tmp, 'broken-plain'), { broken: true });
    const remoteWs = await smallWorkspace(path.join(tmp, 'broken-remote'), { broken: true });
    const plain = await run('cargo', ['build', '-j', '1'], { cwd: plainWs, env: { ...process.env, CARGO_TERM_COLOR: 'never' } });
    const log = path.join(tmp, 'broken.jsonl');
    const remote = await run('cargo', ['build', '-j', '1'], { cwd: remoteWs, env: wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: await cacheDir('cache-broken') }) });
    assert.equal(remote.code, plain.code);
    assert.notEqual(plain.code, 0);
    assert.equal(remote.stderr.split(remoteWs).join('WS'), plain.stderr.split(plainWs).join('WS'));
    assert.match(remote.stderr, /error\[E0308\]: mismatched types/);
    const [a] = await readLog(log);
    assert.equal(a.remote, 'executed');
    assert.equal(a.exitCode, 1);
  });

  it('compiles test harnesses remotely too (cargo test runs them locally)', async () => {
    const ws = await smallWorkspace(path.join(tmp, 'tests'));
    const log = path.join(tmp, 'tests.jsonl');
    const r = await run('cargo', ['test', '-j', '4'], { cwd: ws, env: wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: await cacheDir('cache-tests') }) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /test t::forty \.\.\. ok/);
    const lines = await readLog(log);
    assert.ok(lines.filter((l) => l.kind === 'test').length >= 3, JSON.stringify(lines));
    assert.deepEqual(lines.filter((l) => l.remote === 'local'), []);
  });

  it('names the file when a toolchain file is missing or an input cannot be read', async () => {
    const ws = await smallWorkspace(path.join(tmp, 'inputs'));
    const outDir = path.join(ws, 'target/debug/deps');
    await fsp.mkdir(outDir, { recursive: true });
    const env = wrapperEnv(server.address, { RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: await cacheDir('cache-inputs'), CARGO_MANIFEST_DIR: path.join(ws, 'b') });
    const rustc = (await run('rustc', ['--print', 'sysroot'], { cwd: ws })).stdout.trim();
    const args = ['--crate-name', 'b', 'b/src/lib.rs', '--crate-type', 'lib', '--emit=dep-info,metadata,link', '--out-dir', outDir];
    const missing = path.join(outDir, 'liba-0000.rmeta');
    const input = await run(WRAPPER, [`${rustc}/bin/rustc`, ...args, '--extern', `a=${missing}`], { cwd: ws, env });
    assert.equal(input.code, 1);
    assert.match(input.stderr, new RegExp(`cannot read input file ${missing}: it does not exist`));

    // A toolchain without its compiler library: a copy of the sysroot's bin/rustc alone.
    const fake = path.join(tmp, 'fake-toolchain');
    await fsp.mkdir(path.join(fake, 'bin'), { recursive: true });
    await fsp.mkdir(path.join(fake, 'lib/rustlib'), { recursive: true });
    await fsp.copyFile(`${rustc}/bin/rustc`, path.join(fake, 'bin/rustc'));
    const tool = await run(WRAPPER, [path.join(fake, 'bin/rustc'), ...args], { cwd: ws, env });
    assert.equal(tool.code, 1);
    assert.match(tool.stderr, new RegExp(`cannot read input file ${path.join(fake, 'lib')}/librustc_driver-\\*\\.so: it does not exist`));
  });
  it('backend lost mid-build: fallback=local finishes the build locally with one warning', async (t) => {
    const lost = await startServerProcess({ args: ['--data', await aux(), '--workers', '1'] });
    const ws = await smallWorkspace(path.join(tmp, 'lost'));
    const log = path.join(tmp, 'lost.jsonl');
    const build = run('cargo', ['build', '-j', '1'], { cwd: ws, env: wrapperEnv(lost.address, { RUSTEXEC_LOG: log, RUSTEXEC_CACHE_DIR: await cacheDir('cache-lost') }) });
    // Kill the server as soon as the first compile (crate a) finished remotely.
    for (let i = 0; i < 600 && (await readLog(log)).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await lost.stop();
    const r = await build;
    assert.equal(r.code, 0, r.stderr);
    const lines = await readLog(log);
    assert.equal(lines[0].remote, 'executed');
    assert.ok(lines.slice(1).every((l) => l.remote === 'local'), JSON.stringify(lines));
    assert.equal(count(r.stderr, 'rustexec-rustc: warning:'), 1, r.stderr);
    assert.equal((await run(path.join(ws, 'target/debug/app'), [], { cwd: ws })).stdout, '42\n');
    said(t, r.stderr);
  });

  it('backend lost during a remote compile: fallback=fail fails naming the backend; fallback=local finishes locally, warning once', async (t) => {
    for (const fallback of ['fail', 'local'] as const) {
      // No worker: the first compile's Execute stays queued on the server, so the kill lands in the middle of that call.
      const lost = await startServerProcess({ args: ['--data', await aux(), '--workers', '0'] });
      const metrics = `http://${(await lost.waitForLog('ready')).http as string}/metrics`;
      const ws = await smallWorkspace(path.join(tmp, `lost-during-${fallback}`));
      const log = path.join(tmp, `lost-during-${fallback}.jsonl`);
      const env = wrapperEnv(lost.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: fallback, RUSTEXEC_CACHE_DIR: await cacheDir(`cache-lost-${fallback}`) });
      const build = run('cargo', ['build', '-j', '1'], { cwd: ws, env, timeoutMs: 180_000 });
      try {
        await until(async () => (await queuedActions(metrics)) > 0, 120_000, 'the first compile to be queued');
      } finally {
        await lost.kill();
      }
      const r = await build;
      said(t, r.stderr, `fallback=${fallback}: `);
      const [first] = await readLog(log);
      assert.equal(first.crate, 'a');
      assert.equal(first.remote, 'local');
      assert.match(first.reason ?? '', /unreachable/);
      if (fallback === 'fail') {
        assert.notEqual(r.code, 0, r.stderr);
        assert.match(r.stderr, new RegExp(`rustexec-rustc: error: the backend at grpc://${lost.address} is unreachable \\(.+\\); failing \\(RUSTEXEC_FALLBACK=fail\\)`));
        assert.match(r.stderr, /error: could not compile `a`/);
      } else {
        assert.equal(r.code, 0, r.stderr);
        assert.equal(count(r.stderr, 'rustexec-rustc: warning:'), 1, r.stderr);
        assert.equal((await run(path.join(ws, 'target/debug/app'), [], { cwd: ws })).stdout, '42\n');
      }
    }
  });

  it('a compile no worker takes does not wait forever: after RUSTEXEC_QUEUE_TIMEOUT_MS, local compiles locally (one warning), fail fails saying why', async (t) => {
    const idle = await startServerProcess({ args: ['--data', await aux(), '--workers', '0'] });
    try {
      const queued = new RegExp(`the backend at grpc://${idle.address} queued the compile but no worker started it within 2 s \\(RUSTEXEC_QUEUE_TIMEOUT_MS\\)`);
      const ws = await smallWorkspace(path.join(tmp, 'idle'));
      const log = path.join(tmp, 'idle.jsonl');
      const env = { RUSTEXEC_LOG: log, RUSTEXEC_QUEUE_TIMEOUT_MS: '2000', RUSTEXEC_CACHE_DIR: await cacheDir('cache-idle') };
      const ok = await run('cargo', ['build', '-j', '1'], { cwd: ws, env: wrapperEnv(idle.address, env), timeoutMs: 180_000 });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(count(ok.stderr, 'rustexec-rustc: warning:'), 1, ok.stderr);
      assert.match(ok.stderr, new RegExp(`${queued.source}.*; compiling locally`));
      said(t, ok.stderr, 'fallback=local: ');
      assert.equal((await run(path.join(ws, 'target/debug/app'), [], { cwd: ws })).stdout, '42\n');
      const lines = await readLog(log);
      assert.deepEqual(lines.map((l) => `${l.crate} ${l.remote}`), ['a local', 'b local', 'app local']);
      // The later compiles still asked the cache, then skipped the queue their predecessor waited in vain.
      assert.ok(lines.slice(1).every((l) => /had no worker for a compile of this build moments ago/.test(l.reason ?? '')), JSON.stringify(lines));

      const ws2 = await smallWorkspace(path.join(tmp, 'idle-fail'));
      const fail = await run('cargo', ['build', '-j', '1'], { cwd: ws2, env: wrapperEnv(idle.address, { ...env, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: await cacheDir('cache-idle-fail') }), timeoutMs: 180_000 });
      assert.notEqual(fail.code, 0);
      assert.match(fail.stderr, new RegExp(`rustexec-rustc: error: ${queued.source}.*; failing \\(RUSTEXEC_FALLBACK=fail\\)`));
      said(t, fail.stderr, 'fallback=fail: ');
      assert.match(fail.stderr, /error: could not compile `a`/);
    } finally {
      await idle.stop();
    }
  });
});
