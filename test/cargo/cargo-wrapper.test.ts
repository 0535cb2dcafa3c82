import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { copyWorkspace, listFiles, LogLine, readLog, run, tempDir, wrapperEnv } from './cargo-harness';

const EXPECTED_OUTPUT = '{"greeting":"app 0.1.0","flavor":"squares","sum_of_squares":14,"stats":{"words":18,"distinct":13,"top":[["the",4],["dog",2],["fox",2]],"widest":"sleeps","short_words":["is","it","to"]}}\nprofile=debug\n';

// Compiled artifacts Cargo leaves: libraries, proc-macros, binaries, build-script binaries and dep-info.
const ARTIFACT = /^debug\/(deps\/.*\.(rlib|rmeta|so|d)|deps\/app-[0-9a-f]+|app|build\/[^/]+\/build[-_]script[-_]build(-[0-9a-f]+)?)$/;

describe('rustexec-rustc: Cargo builds the fixture workspace (26 Debian crates) on the backend', () => {
  let tmp: string;
  let ws: string;
  let server: ServerProcess;
  let data: string;
  let plain: Map<string, Buffer>;
  let firstLog: LogLine[];

  before(async () => {
    tmp = await tempDir('cargo');
    ws = await copyWorkspace(path.join(tmp, 'ws'));
    data = path.join(tmp, 'data');
    server = await startServerProcess({ args: ['--data', data, '--workers', '2'] });
    // The baseline: plain Cargo in the same directory, then its target/ moved aside.
    const r = await run('cargo', ['build', '-q'], { cwd: ws });
    assert.equal(r.code, 0, r.stderr);
    plain = await artifacts(path.join(ws, 'target'));
    await fsp.rename(path.join(ws, 'target'), path.join(tmp, 'target-plain'));
  });

  after(async () => {
    await server?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('runs every compile remotely, the binary prints the right output, and every artifact is bit-identical to plain cargo', async () => {
    const log = path.join(tmp, 'first.jsonl');
    const r = await run('cargo', ['build', '-j', '8'], { cwd: ws, env: wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache') }) });
    assert.equal(r.code, 0, r.stderr);
    firstLog = await readLog(log);
    assert.ok(firstLog.length >= 34, `expected ≥ 34 compiles (26 crates + 8 build scripts), got ${firstLog.length}`);
    assert.deepEqual(firstLog.filter((l) => l.remote === 'local'), [], 'no compile may run locally');
    for (const kind of ['lib', 'proc-macro', 'build-script', 'bin']) assert.ok(firstLog.some((l) => l.kind === kind), `a ${kind} compile`);
    const out = await run(path.join(ws, 'target/debug/app'), [], { cwd: ws });
    assert.equal(out.stdout, EXPECTED_OUTPUT);
    assertSameArtifacts(await artifacts(path.join(ws, 'target')), plain);
  });

  it('pipelines: a dependent starts once its dependency announced the remote .rmeta, before that .rlib is done', () => {
    const byCrate = new Map(firstLog.map((l) => [l.crate, l]));
    const early = firstLog.flatMap((d) =>
      (d.externs ?? []).map((e) => byCrate.get(e)).filter((l): l is LogLine => !!l?.rmetaAt && l.rmetaAt <= d.start && d.start < l.end).map((l) => `${d.crate} started ${l.end - d.start} ms before ${l.crate}'s .rlib`),
    );
    assert.ok(early.length > 0, `no dependent started between a dependency's .rmeta and its end:\n${firstLog.map((l) => `${l.crate} ${l.start}..${l.end} rmeta ${l.rmetaAt}`).join('\n')}`);
  });

  it('after cargo clean, a server with --workers 0 serves the whole rebuild from the cache', async () => {
    await server.stop();
    server = await startServerProcess({ args: ['--data', data, '--workers', '0'] });
    const clean = await run('cargo', ['clean', '-q'], { cwd: ws });
    assert.equal(clean.code, 0, clean.stderr);
    const log = path.join(tmp, 'cached.jsonl');
    // A miss would wait for a worker forever: the timeout turns that into a failure.
    const r = await run('cargo', ['build', '-j', '8'], { cwd: ws, timeoutMs: 300_000, env: wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache') }) });
    assert.equal(r.code, 0, r.stderr);
    const lines = await readLog(log);
    assert.equal(lines.length, firstLog.length);
    assert.deepEqual(lines.filter((l) => l.remote !== 'cached').map((l) => `${l.crate}: ${l.remote} ${l.reason ?? ''}`), []);
    assert.equal((await run(path.join(ws, 'target/debug/app'), [], { cwd: ws })).stdout, EXPECTED_OUTPUT);
    assertSameArtifacts(await artifacts(path.join(ws, 'target')), plain);
  });

  it('a second checkout at another path, with its path remapped, gets 100% cache hits and the same libraries', async () => {
    await server.stop();
    server = await startServerProcess({ args: ['--data', data, '--workers', '2'] });
    const build = async (dir: string, log: string) => {
      const env = wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache'), RUSTFLAGS: `--remap-path-prefix=${dir}=/src` });
      const r = await run('cargo', ['build', '-j', '8'], { cwd: dir, env });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await run(path.join(dir, 'target/debug/app'), [], { cwd: dir })).stdout, EXPECTED_OUTPUT);
      return readLog(log);
    };
    const one = await build(ws, path.join(tmp, 'remap1.jsonl'));
    assert.deepEqual(one.filter((l) => l.remote === 'local'), []);
    const ws2 = await copyWorkspace(path.join(tmp, 'elsewhere', 'checkout2'));
    const two = await build(ws2, path.join(tmp, 'remap2.jsonl'));
    assert.equal(two.length, one.length);
    assert.deepEqual(two.filter((l) => l.remote !== 'cached').map((l) => `${l.crate}: ${l.remote}`), [], 'every compile of the second checkout is a hit');
    // With the same remap, rustc's outputs do not depend on the checkout path; dep-info lists each checkout's own files.
    // (The first checkout also keeps its earlier, unremapped libraries: RUSTFLAGS change workspace crates' hashes.)
    const a = await artifacts(path.join(ws, 'target'));
    const b = await artifacts(path.join(ws2, 'target'));
    const libs = [...b.keys()].filter((f) => /\.(rlib|rmeta)$/.test(f));
    assert.ok(libs.length >= 48, `compared ${libs.length} libraries`);
    assert.deepEqual(libs.filter((f) => !b.get(f)!.equals(a.get(f) ?? Buffer.alloc(0))), []);
    const depInfo = [...b.keys()].find((f) => /deps\/textstats-.*\.d$/.test(f))!;
    assert.match(b.get(depInfo)!.toString(), new RegExp(`^${ws2}/target/debug/deps/textstats-`));
  });
});

async function artifacts(target: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of await listFiles(target)) if (ARTIFACT.test(f)) out.set(f, await fsp.readFile(path.join(target, f)));
  return out;
}

function assertSameArtifacts(got: Map<string, Buffer>, want: Map<string, Buffer>): void {
  assert.deepEqual([...got.keys()], [...want.keys()], 'the same artifacts');
  const differ = [...want].filter(([f, b]) => !got.get(f)!.equals(b)).map(([f]) => f);
  assert.deepEqual(differ, [], 'artifacts that differ from plain cargo');
  assert.ok(want.size >= 80, `compared ${want.size} artifacts`);
}
