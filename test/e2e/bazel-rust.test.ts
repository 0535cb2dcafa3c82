import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireBazelLock, bazelInfo, BazelWorkspace, buildFlags, parseExecutionLog, runBazel, ServerProcess, SpawnExec, startServerProcess } from './bazel-harness';
import { binaryOutputs, makeRustExampleWorkspace, outputDigests } from './rust-example';

const RUSTC_MNEMONICS = new Set(['Rustc', 'RustcMetadata', 'RustcBootstrap']);

describe('the offline rules_rust example built through the backend', () => {
  let release: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  let ws: BazelWorkspace | undefined;
  let dataDir: string;

  before(async () => {
    release = await acquireBazelLock();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-rust-data-'));
    server = await startServerProcess({ args: ['--data', dataDir, '--workers', '2'] });
    ws = await makeRustExampleWorkspace();
  });

  after(async () => {
    await ws?.cleanup();
    await server?.stop();
    await fsp.rm(dataDir, { recursive: true, force: true });
    await release?.();
  });

  const localDigests = new Map<boolean, Map<string, string>>();

  async function build(mode: 'local' | 'remote', pipelined: boolean, via: ServerProcess | undefined = server, extra: string[] = []): Promise<SpawnExec[]> {
    const log = ws!.scratchFile(`${mode}-${pipelined}.json`);
    const flags = [...(mode === 'remote' ? buildFlags({ remoteExecutor: via!.port }) : buildFlags()), ...extra];
    await runBazel(ws!, ['build', ...flags, `--//rust/settings:pipelined_compilation=${pipelined ? 'True' : 'False'}`, `--execution_log_json_file=${log}`, '//...'], { timeoutMs: 600_000 });
    return parseExecutionLog(log);
  }

  async function assertBinariesPrintExpected(): Promise<void> {
    const bin = await bazelInfo(ws!, 'bazel-bin', buildFlags());
    for (const b of await binaryOutputs(bin)) assert.equal(b.actual, b.expected, `output of ${b.name}`);
  }

  for (const pipelined of [true, false]) {
    it(`${pipelined ? 'pipelined' : 'non-pipelined'}: runs every action remotely, bit-identical to a local build, then 100% cache hits after clean`, async () => {
      await runBazel(ws!, ['clean']);
      const local = await build('local', pipelined);
      assert.ok(local.every((s) => s.runner !== 'remote'));
      await runBazel(ws!, ['clean']);

      // Nothing may come from what the other mode left in the cache: every action really runs on the workers.
      const remote = await build('remote', pipelined, server, ['--noremote_accept_cached']);
      const counts = (spawns: SpawnExec[], m: string) => spawns.filter((s) => s.mnemonic === m).length;
      assert.equal(counts(remote, 'RustcMetadata'), pipelined ? 14 : 0, 'one metadata action per library when pipelined');
      assert.equal(counts(remote, 'Rustc'), 16, '14 libraries and 2 binaries');
      for (const s of remote) {
        assert.ok(RUSTC_MNEMONICS.has(s.mnemonic ?? ''), `unexpected action ${s.mnemonic}`);
        assert.equal(s.runner, 'remote', `${s.progressMessage} ran remotely`);
      }
      await assertBinariesPrintExpected();

      const localOut = outputDigests(local);
      localDigests.set(pipelined, localOut);
      const remoteOut = outputDigests(remote);
      assert.equal(remoteOut.size, localOut.size);
      for (const [p, d] of localOut) assert.equal(remoteOut.get(p), d, `${p} is bit-identical to the local build`);

      if (pipelined) {
        // The server fuses by default: every library's pair ran as one rustc process.
        const summary = await waitForBuildSummary(server!);
        assert.equal(summary.fusedPairs, 14, 'all 14 metadata/rlib pairs were fused');
        assert.ok((summary.rustcCpuSavedSeconds as number) > 0);
      }

      await runBazel(ws!, ['clean']);
      const cached = await build('remote', pipelined);
      assert.equal(cached.length, remote.length);
      for (const s of cached) assert.equal(s.remoteCacheHit, true, `${s.progressMessage} was a remote cache hit`);
      // Each .rmeta and .rlib ActionResult came back from the AC with the right bytes.
      const cachedOut = outputDigests(cached);
      for (const [p, d] of localOut) assert.equal(cachedOut.get(p), d, `${p} from the action cache`);
      await assertBinariesPrintExpected();
    });
  }

  it('pipelined with fusion switched off: the same bytes as with fusion and as locally', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-rust-nofusion-'));
    const unfused = await startServerProcess({ args: ['--data', dir, '--workers', '2', '--rust-fusion=false'] });
    try {
      await runBazel(ws!, ['clean']);
      const remote = await build('remote', true, unfused);
      for (const s of remote) assert.equal(s.runner, 'remote');
      const out = outputDigests(remote);
      const local = localDigests.get(true)!;
      assert.equal(out.size, local.size);
      for (const [p, d] of local) assert.equal(out.get(p), d, `${p} without fusion`);
      const summary = await waitForBuildSummary(unfused);
      assert.equal(summary.fusedPairs, 0);
      assert.equal(summary.rustcRuns, 31, 'every action ran its own rustc');
      await assertBinariesPrintExpected();
    } finally {
      await unfused.stop();
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});

/** The newest per-build summary line the scheduler logged (it comes once the build has been idle for 2 s). */
async function waitForBuildSummary(server: ServerProcess): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const s = server.logRecords().filter((r) => typeof r.rustcCpuSpentSeconds === 'number').at(-1);
    if (s) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no build summary in the server log:\n${server.logs().slice(-2000)}`);
}
