import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FIXTURES, ThinLtoProgram, thinLtoProgram } from './thinlto-program';

const run = promisify(execFile);

describe('backendAction (a ThinLTO backend job as a canonical action)', () => {
  let dir: string;
  let program: ThinLtoProgram;
  const records = () => fsp.readFile(path.join(dir, 'record.jsonl'), 'utf8').then((t) => t.trim().split('\n').map((l) => JSON.parse(l) as { module: string; key: string }));

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dtlto-action-'));
    program = await thinLtoProgram(dir);
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('runs self-contained in an empty directory and links the same binary as running the jobs in place', async () => {
    const local = await program.link(path.join(FIXTURES, 'local-distributor.sh'), 'local.out');
    const env = { ...process.env, SANDBOX_RECORD: path.join(dir, 'record.jsonl') };
    const sandboxed = await program.link(path.join(FIXTURES, 'sandbox-distributor.sh'), 'sandboxed.out', env);
    assert.ok(local.equals(sandboxed), 'the binaries differ');
    const { stdout } = await run(path.join(dir, 'sandboxed.out'));
    assert.equal(stdout, `total ${[...Array(10).keys()].reduce((s, i) => s + 3 * i + 2 * (i ^ 5), 0)}\n`);
    const jobs = await records();
    assert.equal(jobs.length, 3, 'one job per module');
    assert.ok(jobs.some((j) => /liboffset\.a\(offset\.o at \d+\)\.\d+\.[0-9A-F]+\.o$/.test(j.module)), `an archive member serialized by lld under its PID: ${jobs.map((j) => j.module)}`);
  });

  it('gives the next link (another lld PID) the same actions, and a changed module only its own and its importers\'', async () => {
    const env = { ...process.env, SANDBOX_RECORD: path.join(dir, 'record.jsonl') };
    await fsp.rm(env.SANDBOX_RECORD, { force: true });
    await program.link(path.join(FIXTURES, 'sandbox-distributor.sh'), 'a.out', env);
    await program.link(path.join(FIXTURES, 'sandbox-distributor.sh'), 'b.out', env);
    const [first, second] = [(await records()).slice(0, 3), (await records()).slice(3)];
    assert.notDeepEqual(first.map((j) => j.module), second.map((j) => j.module), 'lld names the archive member after its PID');
    assert.deepEqual(second.map((j) => j.key).sort(), first.map((j) => j.key).sort());

    await program.change('main.c', `#include <stdio.h>
int scale(int); int offset(int); const char *label(void);
int main(void) { int s = 1; for (int i = 0; i < 10; i++) s += scale(i) + offset(i); printf("%s %d\\n", label(), s); return 0; }
`);
    await fsp.rm(env.SANDBOX_RECORD);
    await program.link(path.join(FIXTURES, 'sandbox-distributor.sh'), 'c.out', env);
    const third = await records();
    const same = third.filter((j) => first.some((f) => f.key === j.key));
    assert.equal(same.length, 2, 'scale.o and offset.o import nothing from main.o: their actions are unchanged');
  });
});
