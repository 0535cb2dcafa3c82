import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireBazelLock, bazelInfo, BazelWorkspace, buildFlags, makeWorkspace, parseExecutionLog, runBazel, ServerProcess, startServerProcess } from './bazel-harness';

describe('a worker killed with SIGKILL in the middle of a Bazel build', () => {
  let release: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  let ws: BazelWorkspace | undefined;
  let dataDir: string | undefined;
  let pidDir: string;

  before(async () => {
    release = await acquireBazelLock();
    dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-bazel-fault-data-'));
    pidDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-bazel-fault-pids-'));
    // Unsandboxed: the test finds the worker from the action's $PPID through a shared /tmp, which bubblewrap's PID
    // namespace and private /tmp would hide.
    server = await startServerProcess({ args: ['--data', dataDir, '--workers', '2', '--sandbox', 'none'] });
    // Each action records the pid of the worker running it (bash's parent) where the test can see it, then sleeps.
    const BUILD = `[genrule(
    name = "slow%d" % i,
    outs = ["slow%d.txt" % i],
    cmd = "echo $$PPID > ${pidDir}/slow%d.pid; sleep 2; echo done %d > $@" % (i, i),
) for i in range(6)]
`;
    ws = await makeWorkspace({ BUILD });
  });

  after(async () => {
    await ws?.cleanup();
    await server?.stop();
    for (const d of [dataDir, pidDir]) if (d) await fsp.rm(d, { recursive: true, force: true });
    await release?.();
  });

  it('still succeeds: the lost action is requeued on another worker', async () => {
    const flags = buildFlags({ remoteExecutor: server!.port });
    const log = ws!.scratchFile('exec.json');
    const build = runBazel(ws!, ['build', ...flags, `--execution_log_json_file=${log}`, '//...'], { timeoutMs: 300_000 });

    // Wait for the first action to start on a worker, then kill that worker process. (The shell creates the pid file
    // before it writes to it: an empty read, once seen in CI as pid 0, means "not yet".)
    let victim: number | undefined;
    for (let i = 0; i < 600 && victim === undefined; i++) {
      const pids = await fsp.readdir(pidDir);
      const pid = pids.length > 0 ? Number((await fsp.readFile(path.join(pidDir, pids[0]), 'utf8')).trim()) : 0;
      if (pid > 0) victim = pid;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(victim, 'an action started on a worker');
    process.kill(victim, 'SIGKILL');

    await build;
    const spawns = await parseExecutionLog(log);
    assert.equal(spawns.filter((s) => s.mnemonic === 'Genrule').length, 6);
    for (const s of spawns) assert.equal(s.runner, 'remote');
    const bin = await bazelInfo(ws!, 'bazel-bin', flags);
    for (let i = 0; i < 6; i++) assert.equal(await fsp.readFile(path.join(bin, `slow${i}.txt`), 'utf8'), `done ${i}\n`);
    const records = server!.logRecords();
    assert.ok(records.some((r) => r.msg === 'worker lost'), 'the scheduler noticed the lost worker');
    assert.ok(records.some((r) => r.msg === 'requeueing after worker loss'), 'and requeued its action');
  });
});
