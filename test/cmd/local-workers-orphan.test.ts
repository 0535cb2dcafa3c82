import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { processAlive } from '../../src/util/process-alive';
import { startServerProcess } from '../e2e/server-process';

test('the local workers of a SIGKILLed all-in-one server exit instead of running on', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'rustexec-orphan-'));
  const server = await startServerProcess({ args: ['--data', dir, '--http', 'off', '--workers', '2', '--sandbox', 'none'] });
  try {
    // Each worker logs "worker started" with its own pid (pino's base fields).
    for (const until = Date.now() + 20_000; server.logRecords().filter((r) => r.msg === 'worker started').length < 2; await sleep(50)) {
      assert.ok(Date.now() < until, `two workers did not start:\n${server.logs().slice(-3000)}`);
    }
    const pids = server.logRecords().filter((r) => r.msg === 'worker started').map((r) => Number(r.pid));
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.ok(processAlive(pid), `worker ${pid} is running before the kill`);

    await server.kill('SIGKILL');
    const until = Date.now() + 15_000;
    while (pids.some(processAlive) && Date.now() < until) await sleep(100);
    const left = pids.filter(processAlive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.deepEqual(left, [], 'workers still running 15 s after their server was SIGKILLed');
  } finally {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
