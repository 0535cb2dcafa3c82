import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServerProcess, ServerProcess } from '../e2e/server-process';
import { copyWorkspace, listFiles, LogLine, readLog, run, smallWorkspace, tempDir, wrapperEnv } from './cargo-harness';

const EXPECTED_OUTPUT = '{"greeting":"app 0.1.0","flavor":"squares","sum_of_squares":14,"stats":{"words":18,"distinct":13,"top":[["the",4],["dog",2],["fox",2]],"widest":"sleeps","short_words":["is","it","to"]}}\nprofile=debug\n';

// Compiled artifacts Cargo leaves: libraries, proc-macros, binaries, build-script binaries and dep-info.
const ARTIFACT = /^debug\/(deps\/.*\.(rlib|rmeta|so|d)|deps\/app-[0-9a-f]+|app|build\/[^/]+\/build[-_]script[-_]build(-[0-9a-f]+)?)$/;

/**
 * One clean remote build shared by every assertion, then two builds the cache must serve alone. All builds remap the
 * checkout (`--remap-path-prefix=CHECKOUT=/src`, as CI setups do), so the second checkout can hit the first one's
 * entries without a second full build; the plain baseline uses the same flags. Registry crates' sources are not under
 * the checkout and keep their absolute paths, so their bit-identity still rests on rustc running at the client's paths;
 * cargo-faults.test.ts checks the same for workspace crates without any remapping.
 */
describe('rustexec-rustc: Cargo builds the fixture workspace (26 crates, 23 of them Debian packages) on the backend', () => {
  let tmp: string;
  let ws: string;
  let server: ServerProcess;
  let data: string;
  let plain: Map<string, Buffer>;
  let firstLog: LogLine[];
  const env = (dir: string, log: string, extra: Record<string, string> = {}) =>
    wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache'), RUSTFLAGS: remap(dir), ...extra });

  before(async () => {
    tmp = await tempDir('cargo');
    ws = await copyWorkspace(path.join(tmp, 'ws'));
    data = path.join(tmp, 'data');
    server = await startServerProcess({ args: ['--data', data, '--workers', '2'] });
    // The baseline: plain Cargo in the same directory with the same flags, then its target/ moved aside.
    const r = await run('cargo', ['build', '-q'], { cwd: ws, env: { ...process.env, RUSTFLAGS: remap(ws) } });
    assert.equal(r.code, 0, r.stderr);
    plain = await artifacts(path.join(ws, 'target'));
    await fsp.rename(path.join(ws, 'target'), path.join(tmp, 'target-plain'));
  });

  after(async () => {
    await server?.stop();
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
  });

  it('runs every compile remotely, the binary prints the right output, and every artifact is bit-identical to plain cargo', async (t) => {
    const r = await run('cargo', ['build', '-j', '8'], { cwd: ws, env: env(ws, path.join(tmp, 'first.jsonl')) });
    assert.equal(r.code, 0, r.stderr);
    firstLog = await readLog(path.join(tmp, 'first.jsonl'));
    assert.ok(firstLog.length >= 36, `expected ≥ 36 compiles (26 crates + 10 build scripts), got ${firstLog.length}`);
    assert.deepEqual(firstLog.filter((l) => l.remote !== 'executed').map((l) => `${l.crate}: ${l.remote} ${l.reason ?? ''}`), [], 'every compile runs on the pool');
    for (const kind of ['lib', 'proc-macro', 'build-script', 'bin']) assert.ok(firstLog.some((l) => l.kind === kind), `a ${kind} compile`);
    const out = await run(path.join(ws, 'target/debug/app'), [], { cwd: ws });
    assert.equal(out.stdout, EXPECTED_OUTPUT);
    assertSameArtifacts(await artifacts(path.join(ws, 'target')), plain);
    t.diagnostic(`${firstLog.length} compiles, all executed on the pool (${tally(firstLog, 'kind')}); app printed the expected output; ${plain.size} artifacts byte-identical to plain cargo`);
  });

  it('pipelines: a dependent starts once its dependency announced the remote .rmeta, before that .rlib is done', (t) => {
    const byCrate = new Map(firstLog.map((l) => [l.crate, l]));
    const early = firstLog.flatMap((d) =>
      (d.externs ?? []).map((e) => byCrate.get(e)).filter((l): l is LogLine => !!l?.rmetaAt && l.rmetaAt <= d.start && d.start < l.end).map((l) => `${d.crate} started ${l.end - d.start} ms before ${l.crate}'s .rlib`),
    );
    for (const e of early.slice(0, 5)) t.diagnostic(e);
    assert.ok(early.length > 0, `no dependent started between a dependency's .rmeta and its end:\n${firstLog.map((l) => `${l.crate} ${l.start}..${l.end} rmeta ${l.rmetaAt}`).join('\n')}`);
  });

  it('without remapping, workspace crates with a build script, OUT_DIR include, proc-macro and binary are bit-identical too', async (t) => {
    const small = await smallWorkspace(path.join(tmp, 'small'), { pathsAndMacros: true });
    const p = await run('cargo', ['build', '-q'], { cwd: small });
    assert.equal(p.code, 0, p.stderr);
    const want = await artifacts(path.join(small, 'target'));
    await fsp.rename(path.join(small, 'target'), path.join(tmp, 'target-plain-small'));
    const log = path.join(tmp, 'small.jsonl');
    const r = await run('cargo', ['build', '-j', '8'], { cwd: small, env: wrapperEnv(server.address, { RUSTEXEC_LOG: log, RUSTEXEC_FALLBACK: 'fail', RUSTEXEC_CACHE_DIR: path.join(tmp, 'cache') }) });
    assert.equal(r.code, 0, r.stderr);
    const lines = await readLog(log);
    assert.deepEqual(lines.filter((l) => l.remote !== 'executed').map((l) => `${l.crate}: ${l.remote} ${l.reason ?? ''}`), []);
    assert.deepEqual([...new Set(lines.map((l) => l.kind))].sort(), ['bin', 'build-script', 'lib', 'proc-macro']);
    // The binary embeds the checkout's absolute path (CARGO_MANIFEST_DIR): rustc ran at the client's paths.
    assert.equal((await run(path.join(small, 'target/debug/app'), [], { cwd: small })).stdout, `42 ("a/src/lib.rs", "${small}/a")\n`);
    assertSameArtifacts(await artifacts(path.join(small, 'target')), want, 12);
    t.diagnostic(`${lines.length} compiles executed (${tally(lines, 'kind')}); ${want.size} artifacts byte-identical to plain cargo`);
  });

  // From here on the server has no worker: a cache miss would stay queued, so RUSTEXEC_QUEUE_TIMEOUT_MS turns it into
  // a failed compile (RUSTEXEC_FALLBACK=fail) with a message, not a hang.
  it('after cargo clean, a server with --workers 0 serves the whole rebuild from the cache', async (t) => {
    await server.stop();
    server = await startServerProcess({ args: ['--data', data, '--workers', '0'] });
    const clean = await run('cargo', ['clean', '-q'], { cwd: ws });
    assert.equal(clean.code, 0, clean.stderr);
    const log = path.join(tmp, 'cached.jsonl');
    const r = await run('cargo', ['build', '-j', '8'], { cwd: ws, env: env(ws, log, { RUSTEXEC_QUEUE_TIMEOUT_MS: '30000' }) });
    assert.equal(r.code, 0, r.stderr);
    const lines = await readLog(log);
    assert.equal(lines.length, firstLog.length);
    assert.deepEqual(lines.filter((l) => l.remote !== 'cached').map((l) => `${l.crate}: ${l.remote} ${l.reason ?? ''}`), []);
    assert.equal((await run(path.join(ws, 'target/debug/app'), [], { cwd: ws })).stdout, EXPECTED_OUTPUT);
    assertSameArtifacts(await artifacts(path.join(ws, 'target')), plain);
    t.diagnostic(`--workers 0, RUSTEXEC_FALLBACK=fail: ${lines.length} compiles (${tally(lines, 'remote')}); ${plain.size} artifacts byte-identical to plain cargo`);
  });

  it('a second checkout at another path, with its path remapped, gets 100% cache hits and the same artifacts', async (t) => {
    const ws2 = await copyWorkspace(path.join(tmp, 'elsewhere', 'checkout2'));
    const log = path.join(tmp, 'checkout2.jsonl');
    const r = await run('cargo', ['build', '-j', '8'], { cwd: ws2, env: env(ws2, log, { RUSTEXEC_QUEUE_TIMEOUT_MS: '30000' }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await run(path.join(ws2, 'target/debug/app'), [], { cwd: ws2 })).stdout, EXPECTED_OUTPUT);
    const lines = await readLog(log);
    assert.equal(lines.length, firstLog.length);
    assert.deepEqual(lines.filter((l) => l.remote !== 'cached').map((l) => `${l.crate}: ${l.remote} ${l.reason ?? ''}`), [], 'every compile of the second checkout is a hit');
    // With the same remap, rustc's outputs do not depend on the checkout path; dep-info lists each checkout's own files.
    const b = await artifacts(path.join(ws2, 'target'));
    assert.deepEqual([...b.keys()], [...plain.keys()]);
    const differ = [...plain].filter(([f, bytes]) => !f.endsWith('.d') && !b.get(f)!.equals(bytes)).map(([f]) => f);
    assert.deepEqual(differ, [], 'artifacts of the second checkout that differ from plain cargo in the first');
    const depInfo = [...b.keys()].find((f) => /deps\/textstats-.*\.d$/.test(f))!;
    assert.match(b.get(depInfo)!.toString(), new RegExp(`^${ws2}/target/debug/deps/textstats-`));
    t.diagnostic(`checkout at ${ws2}: ${lines.length} compiles (${tally(lines, 'remote')}); ${plain.size - [...plain.keys()].filter((f) => f.endsWith('.d')).length} non-dep-info artifacts byte-identical to plain cargo in ${ws}`);
  });
});

function tally(lines: LogLine[], key: 'kind' | 'remote'): string {
  const n = new Map<string, number>();
  for (const l of lines) n.set(l[key], (n.get(l[key]) ?? 0) + 1);
  return [...n].map(([k, v]) => `${v} ${k}`).join(', ');
}

/** The remap a CI setup adds so that checkouts at different paths share cache entries. */
function remap(checkout: string): string {
  return `--remap-path-prefix=${checkout}=/src`;
}

async function artifacts(target: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of await listFiles(target)) if (ARTIFACT.test(f)) out.set(f, await fsp.readFile(path.join(target, f)));
  return out;
}

function assertSameArtifacts(got: Map<string, Buffer>, want: Map<string, Buffer>, atLeast = 80): void {
  assert.deepEqual([...got.keys()], [...want.keys()], 'the same artifacts');
  const differ = [...want].filter(([f, b]) => !got.get(f)!.equals(b)).map(([f]) => f);
  assert.deepEqual(differ, [], 'artifacts that differ from plain cargo');
  assert.ok(want.size >= atLeast, `compared ${want.size} artifacts`);
}
