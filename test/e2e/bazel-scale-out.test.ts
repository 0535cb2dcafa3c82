import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUCKET, S3rverFixture } from '../blobstore/s3/s3rver-fixture';
import { acquireBazelLock, bazelInfo, BazelWorkspace, buildFlags, makeWorkspace, parseExecutionLog, runBazel, ServerProcess, startServerProcess } from './bazel-harness';

const CMD = path.join(__dirname, '../../src/cmd');
const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

const BUILD = `
[genrule(name = "a%d" % i, srcs = ["in.txt"], outs = ["a%d.txt" % i], cmd = "cat $< > $@; echo a%d >> $@" % i) for i in range(6)]
genrule(name = "b", srcs = [":a%d" % i for i in range(6)], outs = ["b.txt"], cmd = "cat $(SRCS) | sort > $@")
`;

/** Storage shared through S3, with this process's own disk tier in front of it. */
function storageConfig(endpoint: string, diskDir: string, confirmMissing: boolean) {
  return {
    instances: {
      '': {
        cas: { readCaching: { fast: { filesystem: { path: diskDir, maxBytes: '1gb' } }, slow: { s3: { endpoint, bucket: BUCKET, prefix: 'rx', confirmMissing } } } },
        ac: { s3: { endpoint, bucket: BUCKET, prefix: 'rx' } },
      },
    },
  };
}

describe('frontend, scheduler and worker as separate processes on an S3 tier', () => {
  let release: (() => Promise<void>) | undefined;
  let dir: string;
  let s3: S3rverFixture;
  let scheduler: ServerProcess | undefined;
  let frontend: ServerProcess | undefined;
  let worker: ChildProcess | undefined;
  let ws: BazelWorkspace | undefined;

  const startFrontend = async () => {
    const cfg = path.join(dir, 'frontend.json');
    await fsp.writeFile(cfg, JSON.stringify({ listen: '127.0.0.1:0', ...storageConfig(s3.endpoint, path.join(dir, 'frontend-disk'), false) }));
    return startServerProcess({ entry: path.join(CMD, 'frontend-main.js'), args: ['--config', cfg, '--scheduler', scheduler!.address], env: S3_ENV });
  };

  before(async () => {
    release = await acquireBazelLock();
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-scale-out-'));
    s3 = new S3rverFixture(path.join(dir, 's3'));
    await s3.start();
    const schedCfg = path.join(dir, 'scheduler.json');
    await fsp.writeFile(schedCfg, JSON.stringify({ listen: '127.0.0.1:0', ...storageConfig(s3.endpoint, path.join(dir, 'scheduler-disk'), true) }));
    scheduler = await startServerProcess({ entry: path.join(CMD, 'scheduler-main.js'), args: ['--config', schedCfg], env: S3_ENV });
    frontend = await startFrontend();
    worker = spawn(process.execPath, [path.join(CMD, 'worker.js'), '--scheduler', scheduler.address, '--cas', frontend.address, '--slots', '2', '--work-dir', path.join(dir, 'w/work'), '--cache-dir', path.join(dir, 'w/cache')], {
      stdio: 'ignore',
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    ws = await makeWorkspace({ BUILD, 'in.txt': 'input\n' });
  });

  after(async () => {
    await ws?.cleanup();
    worker?.kill('SIGKILL');
    await frontend?.stop();
    await scheduler?.stop();
    await s3?.kill();
    await fsp.rm(dir, { recursive: true, force: true });
    await release?.();
  });

  it('builds remotely, then after wiping the frontend disk tier and restarting it serves every action from S3', async () => {
    const log1 = ws!.scratchFile('exec1.json');
    await runBazel(ws!, ['build', ...buildFlags({ remoteExecutor: frontend!.port }), `--execution_log_json_file=${log1}`, '//...'], { timeoutMs: 240_000 });
    const first = await parseExecutionLog(log1);
    assert.equal(first.length, 7);
    for (const s of first) assert.equal(s.runner, 'remote', `${s.progressMessage} ran remotely`);

    await frontend!.stop();
    await fsp.rm(path.join(dir, 'frontend-disk'), { recursive: true, force: true });
    frontend = await startFrontend();
    await runBazel(ws!, ['clean']);
    s3.resetRequests();

    const flags = buildFlags({ remoteExecutor: frontend.port });
    const log2 = ws!.scratchFile('exec2.json');
    await runBazel(ws!, ['build', ...flags, `--execution_log_json_file=${log2}`, '//...'], { timeoutMs: 240_000 });
    const second = await parseExecutionLog(log2);
    assert.equal(second.length, 7);
    for (const s of second) assert.equal(s.remoteCacheHit, true, `${s.progressMessage} was a cache hit`);
    assert.ok(s3.requests.some((r) => r.startsWith('GET ') && r.includes('/rx/cas/')), 'outputs were read from S3');
    const bin = await bazelInfo(ws!, 'bazel-bin', flags);
    assert.equal(await fsp.readFile(path.join(bin, 'b.txt'), 'utf8'), [0, 1, 2, 3, 4, 5].flatMap((i) => ['input', `a${i}`]).sort().join('\n') + '\n');
  });
});
