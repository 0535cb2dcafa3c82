import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PathMap } from '../../src/cargo/path-map';

describe('PathMap', () => {
  it('leaves every path alone without remap rules (outputs stay bit-identical to a local build)', () => {
    const m = new PathMap([]);
    assert.equal(m.identity, true);
    assert.deepEqual(m.args(['--out-dir', '/ws/target']), ['--out-dir', '/ws/target']);
  });

  it('moves paths under a remapped FROM to a fixed place, keeps TO, and maps text back', () => {
    const m = new PathMap([{ from: '/home/a/ws1', to: '/src' }]);
    assert.equal(m.toSandbox('/home/a/ws1/target/debug/deps'), '/rustexec/remap0/target/debug/deps');
    assert.equal(m.toSandbox('/home/a/ws10/x'), '/home/a/ws10/x');
    assert.deepEqual(m.args(['--out-dir', '/home/a/ws1/target', '-L', 'dependency=/home/a/ws1/target', '--extern', 'x=/home/a/ws1/t/libx.rlib', '--remap-path-prefix=/home/a/ws1=/src', 'src/lib.rs']), [
      '--out-dir', '/rustexec/remap0/target', '-L', 'dependency=/rustexec/remap0/target', '--extern', 'x=/rustexec/remap0/t/libx.rlib', '--remap-path-prefix=/rustexec/remap0=/src', 'src/lib.rs',
    ]);
    assert.equal(m.toLocal('/rustexec/remap0/target/x.d: /rustexec/remap0/src/lib.rs'), '/home/a/ws1/target/x.d: /home/a/ws1/src/lib.rs');
  });

  it('applies the last matching rule, as rustc does', () => {
    const m = new PathMap([{ from: '/ws', to: '/a' }, { from: '/ws/vendor', to: '/b' }]);
    assert.equal(m.toSandbox('/ws/vendor/x.rs'), '/rustexec/remap1/x.rs');
    assert.equal(m.toSandbox('/ws/src/x.rs'), '/rustexec/remap0/src/x.rs');
    assert.equal(m.toLocal('/rustexec/remap1/x.rs /rustexec/remap0/y'), '/ws/vendor/x.rs /ws/y');
  });
});
