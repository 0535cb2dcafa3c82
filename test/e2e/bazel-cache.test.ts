import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireBazelLock, bazelInfo, BazelWorkspace, buildFlags, makeWorkspace, parseExecutionLog, runBazel, ServerProcess, SpawnExec, startServerProcess } from './bazel-harness';

// Twelve genrules in three levels: six independent ones, one reading a source file, three combining pairs, one with two
// outputs, and one depending on (nearly) everything.
const BUILD = `
[genrule(name = "base%d" % i, outs = ["base%d.txt" % i], cmd = "echo 'base %d' > $@" % i) for i in range(6)]

genrule(name = "from_source", srcs = ["input.txt"], outs = ["upper.txt"], cmd = "tr a-z A-Z < $< > $@")

[genrule(
    name = "pair%d" % i,
    srcs = [":base%d" % (2 * i), ":base%d" % (2 * i + 1)],
    outs = ["pair%d.txt" % i],
    cmd = "cat $(SRCS) > $@",
) for i in range(3)]

genrule(
    name = "multi",
    srcs = [":pair0", ":pair1"],
    outs = ["multi/a.txt", "multi/b.txt"],
    cmd = "cat $(location :pair0) | tr ' ' _ > $(location multi/a.txt); cat $(location :pair1) | rev > $(location multi/b.txt)",
)

genrule(
    name = "final",
    srcs = [":pair2", ":multi", ":from_source"],
    outs = ["final.txt"],
    cmd = "cat $(SRCS) > $@",
)
`;
const GENRULES = 12;

const base = (i: number) => `base ${i}\n`;
const pair = (i: number) => base(2 * i) + base(2 * i + 1);
const multiA = pair(0).replace(/ /g, '_');
const multiB = pair(1)
  .split('\n')
  .map((l) => [...l].reverse().join(''))
  .join('\n');
const upper = 'HELLO FROM A SOURCE FILE\n';
const EXPECTED: Record<string, string> = {
  ...Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [`base${i}.txt`, base(i)])),
  'upper.txt': upper,
  ...Object.fromEntries([0, 1, 2].map((i) => [`pair${i}.txt`, pair(i)])),
  'multi/a.txt': multiA,
  'multi/b.txt': multiB,
  'final.txt': pair(2) + multiA + multiB + upper,
};

describe('Bazel 4.2.3 with the server as its remote cache', () => {
  let release: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  let ws: BazelWorkspace | undefined;
  let dataDir: string | undefined;

  before(async () => {
    release = await acquireBazelLock();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-bazel-cache-data-'));
    server = await startServerProcess({ args: ['--data', dataDir, '--workers', '0'] });
    ws = await makeWorkspace({ BUILD, 'input.txt': 'hello from a source file\n' });
  });

  after(async () => {
    await ws?.cleanup(); // runs `bazel shutdown` with the same output base
    await server?.stop();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
    await release?.();
  });

  const genruleSpawns = (spawns: SpawnExec[]) => spawns.filter((s) => s.mnemonic === 'Genrule');

  async function assertOutputs(): Promise<void> {
    const bin = await bazelInfo(ws!, 'bazel-bin', buildFlags({ remoteCache: server!.port }));
    for (const [file, content] of Object.entries(EXPECTED)) {
      assert.equal(await fsp.readFile(path.join(bin, file), 'utf8'), content, `contents of ${file}`);
    }
  }

  it('runs every genrule locally on the first build and uploads the results', async () => {
    const log = ws!.scratchFile('exec-first.json');
    await runBazel(ws!, ['build', ...buildFlags({ remoteCache: server!.port, executionLog: log }), '//...']);
    const spawns = genruleSpawns(await parseExecutionLog(log));
    assert.equal(spawns.length, GENRULES, `one spawn per genrule: ${spawns.map((s) => s.progressMessage).join(', ')}`);
    for (const s of spawns) assert.notEqual(s.remoteCacheHit, true, `${s.progressMessage} cannot be a cache hit on an empty cache`);
    await assertOutputs();
  });

  it('after bazel clean, takes every genrule from the remote cache and produces the same outputs', async () => {
    await runBazel(ws!, ['clean']);
    const log = ws!.scratchFile('exec-second.json');
    await runBazel(ws!, ['build', ...buildFlags({ remoteCache: server!.port, executionLog: log }), '//...']);
    const spawns = genruleSpawns(await parseExecutionLog(log));
    assert.equal(spawns.length, GENRULES);
    const misses = spawns.filter((s) => s.remoteCacheHit !== true);
    assert.deepEqual(
      misses.map((s) => `${s.progressMessage} (runner ${s.runner})`),
      [],
      'every genrule is a remote cache hit',
    );
    await assertOutputs();
  });
});
