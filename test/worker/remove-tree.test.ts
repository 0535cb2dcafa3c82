import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

const NOBODY = 65534;
const MODULE = path.join(__dirname, '../../src/worker/remove-tree.js');

/** Runs `script` with node as uid/gid 65534 (the test must run as root, as CI does), in `dir`. */
function asNobody(script: string, dir: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, uid: NOBODY, gid: NOBODY, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

// A tree as an input Directory's unix_mode can leave it: directories without write (or any) permission.
const MAKE_TREE = `const fs=require('fs');fs.mkdirSync('t/a/b',{recursive:true});fs.writeFileSync('t/a/b/f','x');fs.mkdirSync('t/c/d',{recursive:true});fs.chmodSync('t/a/b',0o555);fs.chmodSync('t/a',0o555);fs.chmodSync('t/c',0o000);`;

describe('removeTree', () => {
  it('removes an action directory whose subdirectories are read-only or closed, as a worker that is not root', async () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root (to run a worker-side removal as another user); CI runs as root');
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'rustexec-rmtree-'));
    try {
      await fsp.chown(dir, NOBODY, NOBODY);
      const plain = asNobody(`${MAKE_TREE}require('fs').rmSync('t',{recursive:true,force:true})`, dir);
      assert.notEqual(plain.status, 0, 'precondition: a plain recursive rm fails on such a tree');
      assert.match(plain.stderr, /EACCES/);
      await fsp.rm(path.join(dir, 't'), { recursive: true, force: true }); // root can
      const ours = asNobody(`${MAKE_TREE}require(${JSON.stringify(MODULE)}).removeTree('t').then(()=>process.exit(0),(e)=>{console.error(e);process.exit(1)})`, dir);
      assert.equal(ours.status, 0, ours.stderr);
      await assert.rejects(fsp.stat(path.join(dir, 't')), { code: 'ENOENT' });
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
