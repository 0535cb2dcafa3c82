import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { acquireDirLock, parseJsonStream } from './bazel-harness';

// The harness's own logic, without running Bazel.
describe('Bazel test harness', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
  });
  const lockDir = async () => {
    const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-lock-test-'));
    dirs.push(d);
    return path.join(d, 'lock');
  };

  it('parses an execution log of concatenated pretty-printed objects, with braces and quotes inside strings', () => {
    const text = `{
  "commandArgs": ["/bin/bash", "-c", "echo '}{' \\"quoted\\" > out"],
  "remoteCacheHit": true
}{
  "nested": {"a": [{"b": 1}]},
  "remoteCacheHit": false
}
{"runner": "remote"}
`;
    assert.deepEqual(parseJsonStream(text), [
      { commandArgs: ['/bin/bash', '-c', `echo '}{' "quoted" > out`], remoteCacheHit: true },
      { nested: { a: [{ b: 1 }] }, remoteCacheHit: false },
      { runner: 'remote' },
    ]);
    assert.deepEqual(parseJsonStream(''), []);
    assert.deepEqual(parseJsonStream('[{"a": 1}, {"a": 2}]'), [{ a: 1 }, { a: 2 }]);
  });

  it('refuses a truncated execution log instead of silently dropping the last spawn', () => {
    assert.throws(() => parseJsonStream('{"a": 1}{"b": '), /truncated/);
    assert.throws(() => parseJsonStream('{"a": 1} garbage {"b": 2}'), /unexpected "g"/);
  });

  it('lets only one holder take the lock at a time; the next one gets it after release', async () => {
    const dir = await lockDir();
    const release = await acquireDirLock(dir, 5000);
    let secondHasIt = false;
    const second = acquireDirLock(dir, 5000).then((r) => {
      secondHasIt = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(secondHasIt, false, 'the second waiter blocks while the lock is held');
    await release();
    const release2 = await second;
    assert.equal(secondHasIt, true);
    await release2();
    await assert.rejects(fsp.access(dir), 'the lock directory is gone after the last release');
  });

  it('takes over a lock whose owner process no longer exists, and times out on a live one', async () => {
    const dir = await lockDir();
    await fsp.mkdir(dir);
    await fsp.writeFile(path.join(dir, 'owner'), '2147483646 deadbeef'); // no such pid
    const release = await acquireDirLock(dir, 5000);
    await assert.rejects(acquireDirLock(dir, 300), /could not take the lock/);
    await release();
  });
});
