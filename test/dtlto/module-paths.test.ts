import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { canonicalIndex, modulePaths, renameModulePaths } from '../../src/dtlto/bitcode/module-paths';
import { canonicalSummary } from '../../src/dtlto/bitcode/summary-order';
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

  it('makes the index canonical: a fixed point that LLVM still reads', async () => {
    const once = canonicalIndex(index, (p) => path.basename(p));
    assert.ok(canonicalIndex(once, (p) => p).equals(once));
    assert.deepEqual(modulePaths(once), modulePaths(index).map((p) => path.basename(p)));
    await fsp.writeFile(path.join(dir, 'canonical.bc'), once);
    const { stdout } = await run('/usr/lib/llvm-22/bin/llvm-bcanalyzer', ['-dump', path.join(dir, 'canonical.bc')]);
    assert.match(stdout, /VALUE_GUID/);
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

describe('canonicalSummary', () => {
  const VALUE_GUID = 16;
  const PROFILE = 5;
  const VAR = 6;
  const rec = (code: number, ops: number[]) => ({ abbrevId: 3, rec: { code, ops } });
  // One index as lld may write it: GUIDs 900, 500 and 700 numbered 0, 1, 2; a function (value 0) in module 1
  // that refers to value 2 and calls value 1; a variable (value 2) referring to value 1.
  const one = [
    rec(10, [12]),
    rec(20, [1121]),
    rec(VALUE_GUID, [0, 0, 900]),
    rec(VALUE_GUID, [1, 0, 500]),
    rec(VALUE_GUID, [2, 0, 700]),
    rec(PROFILE, [0, 1, 352, 10, 0, 0, 1, 0, 0, 2, 1, 8]),
    rec(VAR, [2, 0, 97, 4, 1]),
  ];
  // The same index numbered the other way round, records in another order.
  const two = [
    rec(10, [12]),
    rec(20, [1121]),
    rec(VALUE_GUID, [2, 0, 900]),
    rec(VALUE_GUID, [0, 0, 700]),
    rec(VALUE_GUID, [1, 0, 500]),
    rec(VAR, [0, 0, 97, 4, 1]),
    rec(PROFILE, [2, 1, 352, 10, 0, 0, 1, 0, 0, 0, 1, 8]),
  ];

  it('gives equivalent numberings the same records', () => {
    const a = canonicalSummary(one)!;
    assert.deepEqual(a, canonicalSummary(two));
    assert.deepEqual(
      a.map((r) => [r.rec.code, ...r.rec.ops]),
      [
        [10, 12],
        [20, 1121],
        [VALUE_GUID, 0, 0, 500],
        [VALUE_GUID, 1, 0, 700],
        [VALUE_GUID, 2, 0, 900],
        [VAR, 1, 0, 97, 4, 0],
        [PROFILE, 2, 1, 352, 10, 0, 0, 1, 0, 0, 1, 0, 8],
      ],
    );
  });

  it('leaves alone what it does not understand', () => {
    assert.equal(canonicalSummary([...one, rec(8, [3, 1, 0, 2])]), undefined, 'an alias record');
    assert.equal(canonicalSummary([...one, rec(VAR, [1, 0, 97, 4, 99])]), undefined, 'a reference to an undefined value');
    assert.equal(canonicalSummary([...one, rec(PROFILE, [1, 1, 352, 10, 0, 0, 5, 0, 0, 2])]), undefined, 'more references than operands');
  });
});
