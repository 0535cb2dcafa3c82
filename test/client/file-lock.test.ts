import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withFileLock } from '../../src/client/file-lock';

describe('withFileLock', () => {
  let dir: string;
  before(async () => (dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-lock-'))));
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('runs holders one at a time and removes the lock after each, also when one throws', async () => {
    const lock = path.join(dir, 'a.lock');
    const events: string[] = [];
    const job = (name: string, fail = false) =>
      withFileLock(
        lock,
        async () => {
          events.push(`${name} in`);
          await new Promise((r) => setTimeout(r, 50));
          events.push(`${name} out`);
          if (fail) throw new Error(`${name} failed`);
          return name;
        },
        5,
      );
    const results = await Promise.allSettled([job('one'), job('two', true), job('three')]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    for (let i = 0; i < events.length; i += 2) assert.equal(events[i].split(' ')[0], events[i + 1].split(' ')[0], events.join(', '));
    assert.equal(events.length, 6);
    await assert.rejects(fsp.stat(lock), /ENOENT/);
  });

  it('takes over a lock whose owner is gone', async () => {
    const lock = path.join(dir, 'b.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    await fsp.writeFile(lock, dead);
    assert.equal(await withFileLock(lock, async () => 'ran', 5), 'ran');
  });

  it('waits for a live owner', async () => {
    const lock = path.join(dir, 'c.lock');
    await fsp.writeFile(lock, String(process.pid));
    let ran = false;
    const waiting = withFileLock(lock, async () => (ran = true), 5);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ran, false);
    await fsp.unlink(lock);
    await waiting;
    assert.equal(ran, true);
  });
});
