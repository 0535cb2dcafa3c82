import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { modulePaths, renameModulePaths } from '../../src/dtlto/bitcode/module-paths';
import { parseJobsFile } from '../../src/dtlto/jobs-file';
import { thinLtoProgram } from './thinlto-program';

const run = promisify(execFile);

describe('module paths of a ThinLTO summary index', () => {
  let dir: string;
  let index: Buffer;

  before(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'dtlto-index-'));
    await thinLtoProgram(dir);
    // The classic separate thin link writes the same per-module index files lld hands a distributor.
    await run('clang-22', ['-flto=thin', '-fuse-ld=lld-22', '-Wl,--thinlto-index-only', path.join(dir, 'main.o'), path.join(dir, 'scale.o'), path.join(dir, 'liboffset.a'), '-o', path.join(dir, 'a.out')], { cwd: dir });
    index = await fsp.readFile(path.join(dir, 'main.o.thinlto.bc'));
  });
  after(() => fsp.rm(dir, { recursive: true, force: true }));

  it('lists the module itself and the modules it imports from', () => {
    const paths = modulePaths(index);
    assert.ok(paths.includes(path.join(dir, 'main.o')), String(paths));
    assert.ok(paths.includes(path.join(dir, 'scale.o')), String(paths));
  });

  it('re-encodes an unchanged index byte for byte, and renames paths of any length and alphabet', async () => {
    assert.ok(renameModulePaths(index, (p) => p).equals(index));
    const names = ['a.o', 'x/y z-ü.o', `${'d'.repeat(300)}.o`];
    const renamed = renameModulePaths(index, (p) => names[modulePaths(index).indexOf(p)]);
    assert.deepEqual(modulePaths(renamed), names.slice(0, modulePaths(index).length));
    await fsp.writeFile(path.join(dir, 'renamed.bc'), renamed);
    const { stdout } = await run('/usr/lib/llvm-22/bin/llvm-bcanalyzer', ['-dump', path.join(dir, 'renamed.bc')]);
    assert.match(stdout, /MODULE_STRTAB_BLOCK/, 'LLVM reads the rewritten file');
  });

  it('rejects what is not bitcode and what is cut short', () => {
    assert.throws(() => modulePaths(Buffer.from('{"jobs": []}')), /not an LLVM bitcode file/);
    assert.throws(() => modulePaths(index.subarray(0, index.length / 2)), /truncated/);
  });
});

describe('parseJobsFile', () => {
  const job = { args: ['m.o', '-fthinlto-index=m.bc', '-o', 'm.native.o'], inputs: ['m.o', 'm.bc'], outputs: ['m.native.o'] };

  it('reads lld\'s job description', () => {
    const f = parseJobsFile(JSON.stringify({ common: { linker_output: 'a.out', args: ['/usr/bin/clang', '-c', '-O2'], inputs: [] }, jobs: [job] }));
    assert.equal(f.common.linkerOutput, 'a.out');
    assert.deepEqual(f.jobs, [job]);
  });

  it('names the field that is wrong', () => {
    assert.throws(() => parseJobsFile('nope', 'jobs.json'), /jobs\.json is not JSON/);
    assert.throws(() => parseJobsFile(JSON.stringify({ common: { args: [] }, jobs: [] })), /common\.args needs at least 1 entry/);
    assert.throws(() => parseJobsFile(JSON.stringify({ common: { args: ['clang'] }, jobs: [{ ...job, inputs: ['m.o'] }] })), /jobs\[0\]\.inputs needs at least 2 entries/);
    assert.throws(() => parseJobsFile(JSON.stringify({ common: { args: ['clang'] }, jobs: [{ ...job, outputs: [7] }] })), /jobs\[0\]\.outputs must be an array of non-empty strings/);
  });
});
