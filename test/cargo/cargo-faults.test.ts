import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { readLog, run, tempDir, WRAPPER, wrapperEnv } from './cargo-harness';

/** Three crates in a chain (a ← b ← app) with no registry dependencies: builds in seconds. */
async function tinyWorkspace(dir: string, broken = false): Promise<string> {
  const write = async (rel: string, text: string) => {
    await fsp.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fsp.writeFile(path.join(dir, rel), text);
  };
  await write('Cargo.toml', '[workspace]\nmembers = ["a", "b", "app"]\nresolver = "2"\n[profile.dev]\nincremental = false\ndebug = 0\n');
  await write('a/Cargo.toml', '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n');
  await write('a/src/lib.rs', broken ? 'pub fn a() -> u32 { let unused = 1; "not a number" }\n' : 'pub fn a() -> u32 { 40 }\n#[cfg(test)]\nmod t {\n    #[test]\n    fn forty() { assert_eq!(super::a(), 40); }\n}\n');
  await write('b/Cargo.toml', '[package]\nname = "b"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\na = { path = "../a" }\n');
  await write('b/src/lib.rs', 'pub fn b() -> u32 { a::a() + 2 }\n');
  await write('app/Cargo.toml', '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n[dependencies]\nb = { path = "../b" }\n');
  await write('app/src/main.rs', 'fn main() { println!("{}", b::b()); }\n');
  return dir;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return `127.0.0.1:${port}`;
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('rustexec-rustc faults: backend down or lost, compile errors, unreadable inputs', () => {
  let tmp: string;
  let server: ServerProcess;

  before(async () => {
    tmp = await tempDir('cargo-faults');
    server = await startServerProcess({ args: ['--data', path.join(tmp, 'data'), '--workers', '1'] });
  });
  after(async () => {
    await server?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('backend down at start: fallback=local builds locally and warns once; fallback=fail fails naming the backend', async () => {
    const down = await closedPort();
    const ws = await tinyWorkspace(path.join(tmp, 'down'));
    const log = path.join(tmp, 'down.jsonl');
    const ok = await run('cargo', ['build', '-j', '1'], { cwd: ws, env: wrapperEnv(down, { RUSTEXEC_LOG: log, RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-down') }) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(count(ok.stderr, 'rustexec-rustc: warning:'), 1, ok.stderr);
    assert.match(ok.stderr, new RegExp(`backend at grpc://${down} is unreachable.*compiling locally`));
    assert.equal((await run(path.join(ws, 'target/debug/app'), [], { cwd: ws })).stdout, '42\n');
    const lines = await readLog(log);
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => l.remote === 'local' && /unreachable/.test(l.reason ?? '')), JSON.stringify(lines));

    const ws2 = await tinyWorkspace(path.join(tmp, 'down-fail'));
    const fail = await run('cargo', ['build', '-j', '1'], { cwd: ws2, env: wrapperEnv(down, { RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-down-fail') }) });
    assert.notEqual(fail.code, 0);
    assert.match(fail.stderr, new RegExp(`backend at grpc://${down} is unreachable.*RUSTEXEC_FALLBACK=fail`));
  });

  it('backend lost mid-build: fallback=local finishes the build locally with one warning', async () => {
    const lost = await startServerProcess({ args: ['--data', path.join(tmp, 'data-lost'), '--workers', '1'] });
    const ws = await tinyWorkspace(path.join(tmp, 'lost'));
    const log = path.join(tmp, 'lost.jsonl');
    const build = run('cargo', ['build', '-j', '1'], { cwd: ws, env: wrapperEnv(lost.address, { RUSTEXEC_LOG: log, RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-lost') }) });
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
  });

  it('reports a compile error exactly as rustc does (same Cargo output and exit code), not as a backend error', async () => {
    const plainWs = await tinyWorkspace(path.join(tmp, 'broken-plain'), true);
    const remoteWs = await tinyWorkspace(path.join(tmp, 'broken-remote'), true);
    const plain = await run('cargo', ['build', '-j', '1'], { cwd: plainWs, env: { ...process.env, CARGO_TERM_COLOR: 'never' } });
    const log = path.join(tmp, 'broken.jsonl');
    const remote = await run('cargo', ['build', '-j', '1'], { cwd: remoteWs, env: wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-broken') }) });
    assert.equal(remote.code, plain.code);
    assert.notEqual(plain.code, 0);
    assert.equal(remote.stderr.split(remoteWs).join('WS'), plain.stderr.split(plainWs).join('WS'));
    assert.match(remote.stderr, /error\[E0308\]: mismatched types/);
    const [a] = await readLog(log);
    assert.equal(a.remote, 'executed');
    assert.equal(a.exitCode, 1);
  });

  it('compiles test harnesses remotely too (cargo test runs them locally)', async () => {
    const ws = await tinyWorkspace(path.join(tmp, 'tests'));
    const log = path.join(tmp, 'tests.jsonl');
    const r = await run('cargo', ['test', '-j', '4'], { cwd: ws, env: wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-tests') }) });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /test t::forty \.\.\. ok/);
    const lines = await readLog(log);
    assert.ok(lines.filter((l) => l.kind === 'test').length >= 3, JSON.stringify(lines));
    assert.deepEqual(lines.filter((l) => l.remote === 'local'), []);
  });

  it('names the file when a toolchain file is missing or an input cannot be read', async () => {
    const ws = await tinyWorkspace(path.join(tmp, 'inputs'));
    const outDir = path.join(ws, 'target/debug/deps');
    await fsp.mkdir(outDir, { recursive: true });
    const env = wrapperEnv(server.address, { RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache-inputs'), CARGO_MANIFEST_DIR: path.join(ws, 'b') });
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
});
