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

  async function build(mode: 'local' | 'remote', pipelined: boolean): Promise<SpawnExec[]> {
    const log = ws!.scratchFile(`${mode}-${pipelined}.json`);
    const flags = mode === 'remote' ? buildFlags({ remoteExecutor: server!.port }) : buildFlags();
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

      const remote = await build('remote', pipelined);
      const counts = (spawns: SpawnExec[], m: string) => spawns.filter((s) => s.mnemonic === m).length;
      assert.equal(counts(remote, 'RustcMetadata'), pipelined ? 14 : 0, 'one metadata action per library when pipelined');
      assert.equal(counts(remote, 'Rustc'), 16, '14 libraries and 2 binaries');
      for (const s of remote) {
        assert.ok(RUSTC_MNEMONICS.has(s.mnemonic ?? ''), `unexpected action ${s.mnemonic}`);
        // The first mode builds from nothing; the second may reuse what the first ran remotely (the process wrapper).
        const allowed = pipelined ? ['remote'] : ['remote', 'remote cache hit'];
        assert.ok(allowed.includes(s.runner ?? ''), `${s.progressMessage} ran remotely (runner: ${s.runner})`);
      }
      assert.ok(remote.filter((s) => s.runner === 'remote').length >= 16, 'the crates were compiled remotely');
      await assertBinariesPrintExpected();

      const localOut = outputDigests(local);
      const remoteOut = outputDigests(remote);
      assert.equal(remoteOut.size, localOut.size);
      for (const [p, d] of localOut) assert.equal(remoteOut.get(p), d, `${p} is bit-identical to the local build`);

      await runBazel(ws!, ['clean']);
      const cached = await build('remote', pipelined);
      assert.equal(cached.length, remote.length);
      for (const s of cached) assert.equal(s.remoteCacheHit, true, `${s.progressMessage} was a remote cache hit`);
      await assertBinariesPrintExpected();
    });
  }
});
