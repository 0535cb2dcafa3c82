import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Code, StatusError } from '../../src/grpc/status-error';
import { DEFAULT_PATH, Runner } from '../../src/worker/runner';
import { tempDir } from './worker-fixture';

/** True while the process exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('Runner', () => {
  let dir: string;
  const runner = new Runner();
  const io = () => ({ stdoutPath: path.join(dir, 'out'), stderrPath: path.join(dir, 'err') });
  before(() => {
    dir = tempDir();
  });
  after(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('passes exactly the given environment, nothing inherited from the worker', async () => {
    const r = await runner.run({ argv: ['/usr/bin/env'], env: { FOO: 'bar', PATH: '/custom/bin' }, cwd: dir, timeoutMs: 10_000, ...io() });
    assert.equal(r.exitCode, 0);
    assert.deepEqual((await fsp.readFile(io().stdoutPath, 'utf8')).trim().split('\n').sort(), ['FOO=bar', 'PATH=/custom/bin']);
  });

  it('adds the default PATH only when the action sends none (as Buck2 does), and finds argv[0] on it', async () => {
    const r = await runner.run({ argv: ['env'], env: { ONLY: '1' }, cwd: dir, timeoutMs: 10_000, ...io() });
    assert.equal(r.exitCode, 0);
    assert.deepEqual((await fsp.readFile(io().stdoutPath, 'utf8')).trim().split('\n').sort(), ['ONLY=1', `PATH=${DEFAULT_PATH}`]);
  });

  it('runs in the given working directory and reports the exit code and stderr', async () => {
    const wd = path.join(dir, 'pkg', 'sub');
    await fsp.mkdir(wd, { recursive: true });
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'pwd; echo oops >&2; exit 3'], env: {}, cwd: wd, timeoutMs: 10_000, ...io() });
    assert.equal(r.exitCode, 3);
    assert.equal(r.timedOut, false);
    assert.equal((await fsp.readFile(io().stdoutPath, 'utf8')).trim(), await fsp.realpath(wd));
    assert.equal(await fsp.readFile(io().stderrPath, 'utf8'), 'oops\n');
  });

  it('kills the whole process group on timeout, including a grandchild sleep', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const started = Date.now();
    const r = await runner.run({ argv: ['/bin/sh', '-c', `sleep 30 & echo $! > ${pidFile}; echo before; wait`], env: {}, cwd: dir, timeoutMs: 300, ...io() });
    assert.equal(r.timedOut, true);
    assert.equal(r.termSignal, 'SIGKILL');
    assert.ok(Date.now() - started < 5000);
    assert.equal(await fsp.readFile(io().stdoutPath, 'utf8'), 'before\n');
    const grandchild = Number(await fsp.readFile(pidFile, 'utf8'));
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(alive(grandchild), false);
  });

  it('kills the process group when the execution is cancelled', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await runner.run({ argv: ['/bin/sh', '-c', 'sleep 30'], env: {}, cwd: dir, timeoutMs: 30_000, signal: ac.signal, ...io() });
    assert.equal(r.cancelled, true);
    assert.equal(r.timedOut, false);
  });

  it('refuses a command whose argv[0] does not exist with an actionable INVALID_ARGUMENT', async () => {
    await assert.rejects(runner.run({ argv: ['./no-such-tool'], env: {}, cwd: dir, timeoutMs: 10_000, ...io() }), (err: StatusError) => {
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.match(err.message, /no-such-tool.*not found/);
      return true;
    });
  });
});
