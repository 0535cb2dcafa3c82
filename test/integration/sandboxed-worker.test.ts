import * as assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { operations, responseOf, startExecutionFixture, waitForWorkers } from './execution-fixture';

describe('a worker process with --sandbox bwrap', () => {
  let fixture: Awaited<ReturnType<typeof startExecutionFixture>>;
  let outside: string;
  before(async () => {
    fixture = await startExecutionFixture();
    outside = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-outside-'));
    fixture.startWorker(['--sandbox', 'bwrap']);
    await waitForWorkers(fixture, 1);
  });
  after(async () => {
    await fixture?.close();
    await fsp.rm(outside, { recursive: true, force: true });
  });

  const run = async (script: string, platform?: { name: string; value: string }[]) => {
    const digest = await fixture.action({ args: ['/bin/sh', '-c', script], outputPaths: ['out.txt'], platform, salt: `${Math.random()}` });
    return responseOf((await operations(fixture.execute({ actionDigest: digest }))).at(-1)!);
  };

  it('runs an action in the sandbox: its outputs come back, writes elsewhere do not land, and the network needs network=on', async () => {
    const probe = `cat /proc/net/dev | grep -c ':' > out.txt; echo x > ${outside}/escaped`;
    const isolated = await run(probe, [{ name: 'network', value: 'off' }]);
    assert.equal(isolated.status?.code ?? 0, 0, isolated.status?.message ?? '');
    assert.notEqual(isolated.result?.exitCode, 0, 'the write outside failed, so the script failed');
    assert.deepEqual(await fsp.readdir(outside), []);
    const unasked = await run('cat /proc/net/dev | grep -c : > out.txt');
    const asked = await run('cat /proc/net/dev | grep -c : > out.txt', [{ name: 'network', value: 'on' }]);
    const interfaces = async (r: typeof asked) => {
      const d = r.result!.outputFiles![0].digest!;
      return Number((await fixture.clients.byteStream.read(`blobs/${d.hash}/${d.sizeBytes}`)).toString().trim());
    };
    assert.equal(await interfaces(unasked), 1, 'without network=on only a loopback device exists');
    assert.ok((await interfaces(asked)) > 1, 'with network=on the host network is there');
  });
});
