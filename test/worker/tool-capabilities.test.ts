import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code } from '../../src/grpc/status-error';
import { detectToolCapabilities } from '../../src/worker/tool-capabilities';
import { ExecutionFixture, operations, responseOf, startExecutionFixture, waitForWorkers } from '../integration/execution-fixture';

describe('detectToolCapabilities', () => {
  let dir: string;
  const tool = async (sub: string, name: string, script: string) => {
    await fsp.mkdir(path.join(dir, sub), { recursive: true });
    await fsp.writeFile(path.join(dir, sub, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  };

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tools-'));
    await tool('a', 'clang-22', 'echo "Debian clang version 22.1.8 (1~deb12u1)"');
    await tool('a', 'clang-19', 'echo "clang version 18.1.0"'); // says another version than its name: not trusted
    await tool('a', 'clang-17', 'exit 1'); // does not run
    await tool('a', 'clang-format-22', 'echo "clang version 22.1.8"'); // not a compiler
    await tool('b', 'clang-21', 'echo "clang version 21.0.0"');
    await tool('b', 'clang-22', 'exit 1'); // shadowed by a/clang-22, which is what an action would run
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('advertises clang=N for every clang-N on the search path that runs and says it is version N', async () => {
    const found = await detectToolCapabilities({ searchPath: `${path.join(dir, 'a')}:${path.join(dir, 'missing')}:${path.join(dir, 'b')}` });
    assert.deepEqual(found, [
      { name: 'clang', value: '21' },
      { name: 'clang', value: '22' },
    ]);
  });
});

describe('a worker advertises the tools it has (through Execute)', () => {
  let f: ExecutionFixture;
  before(async () => {
    f = await startExecutionFixture();
    f.startWorker();
    await waitForWorkers(f, 1);
  });
  after(() => f.close());

  it('runs an action that asks for clang=22 and fails one that asks for a clang no worker has', async () => {
    const ok = await f.action({ args: ['clang-22', '--version'], platform: [{ name: 'clang', value: '22' }], salt: 'clang22' });
    const okRes = responseOf((await operations(f.execute({ actionDigest: ok }))).at(-1)!);
    assert.equal(okRes.status?.code ?? 0, 0, okRes.status?.message ?? undefined);
    assert.equal(okRes.result?.exitCode, 0);
    const none = await f.action({ args: ['clang-999', '--version'], platform: [{ name: 'clang', value: '999' }], salt: 'clang999' });
    const noneRes = responseOf((await operations(f.execute({ actionDigest: none }))).at(-1)!);
    assert.equal(noneRes.status?.code, Code.FAILED_PRECONDITION);
    assert.match(noneRes.status?.message ?? '', /clang=999/);
  });
});
