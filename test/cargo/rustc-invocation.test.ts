import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileKind, expectedOutputs, parseInvocation, RustcInvocation } from '../../src/cargo/rustc-invocation';
import { classifyCommand } from '../../src/rust/rustc-command';
import { sandboxArgv } from '../../src/cargo/sandbox-command';
import { PipelinedStderr, rmetaNotice } from '../../src/cargo/pipelined-stderr';

const RUSTC = '/opt/rust/bin/rustc';
// What Cargo 1.95 passes for a registry library (pipelined: dep-info, metadata and link).
const LIB = ['--crate-name', 'regex', '--edition=2018', '/reg/regex-1.7.1/src/lib.rs', '--error-format=json', '--json=diagnostic-rendered-ansi,artifacts,future-incompat', '--crate-type', 'lib', '--emit=dep-info,metadata,link', '-C', 'embed-bitcode=no', '-C', 'metadata=1a', '-C', 'extra-filename=-0123', '--out-dir', '/ws/target/debug/deps', '-L', 'dependency=/ws/target/debug/deps', '--extern', 'memchr=/ws/target/debug/deps/libmemchr-77.rmeta', '--cap-lints', 'allow'];

function inv(args: string[], cwd = '/ws'): RustcInvocation {
  const r = parseInvocation(RUSTC, args, cwd);
  if ('local' in r) assert.fail(`expected a remote compile, got local: ${r.local}`);
  return r;
}

describe('parseInvocation', () => {
  it('reads what a remote compile needs from a pipelined library compile', () => {
    const i = inv(LIB);
    assert.equal(i.crateName, 'regex');
    assert.deepEqual(i.externs, [{ name: 'memchr', path: '/ws/target/debug/deps/libmemchr-77.rmeta' }]);
    assert.deepEqual(expectedOutputs(i), { depInfo: '/ws/target/debug/deps/regex-0123.d', rmeta: '/ws/target/debug/deps/libregex-0123.rmeta', rlib: '/ws/target/debug/deps/libregex-0123.rlib', linked: undefined });
    assert.equal(compileKind(i), 'lib');
  });

  it('names the outputs of a binary, a proc-macro and a build script', () => {
    const bin = inv(['--crate-name', 'app', 'app/src/main.rs', '--crate-type', 'bin', '--emit=dep-info,link', '-C', 'extra-filename=-9', '--out-dir', 'target/debug/deps']);
    assert.equal(bin.source, '/ws/app/src/main.rs');
    assert.deepEqual(expectedOutputs(bin), { depInfo: '/ws/target/debug/deps/app-9.d', rmeta: undefined, rlib: undefined, linked: '/ws/target/debug/deps/app-9' });
    const pm = inv(['--crate-name', 'serde_derive', '/r/src/lib.rs', '--crate-type', 'proc-macro', '--emit=dep-info,link', '-C', 'prefer-dynamic', '-C', 'extra-filename=-5', '--out-dir', '/t', '--extern', 'proc_macro']);
    assert.equal(expectedOutputs(pm).linked, '/t/libserde_derive-5.so');
    assert.equal(compileKind(pm), 'proc-macro');
    const bs = inv(['--crate-name', 'build_script_build', 'build.rs', '--crate-type', 'bin', '--emit=dep-info,link', '--out-dir', '/t/build/x-1']);
    assert.equal(compileKind(bs), 'build-script');
  });

  it('sends a library compile with linker flags (the DTLTO recipe) remote, and keeps a compile that links local', () => {
    const dtlto = ['-C', 'linker-plugin-lto', '-C', 'linker=clang-22', '-C', 'link-arg=-fuse-ld=lld-22', '-C', 'link-arg=-fthinlto-distributor=/x/rustexec-dtlto'];
    assert.equal(inv([...LIB, ...dtlto]).crateName, 'regex');
    const bin = parseInvocation(RUSTC, ['--crate-name', 'app', 'src/main.rs', '--crate-type', 'bin', '--out-dir', '/t', ...dtlto], '/ws');
    assert.ok('local' in bin && /-C linker on a compile that links/.test(bin.local), JSON.stringify(bin));
    const pm = parseInvocation(RUSTC, ['--crate-name', 'd', 'lib.rs', '--crate-type', 'proc-macro', '--out-dir', '/t', '-C', 'link-arg=-Wl,-z,now'], '/ws');
    assert.ok('local' in pm && /-C link-arg on a compile that links/.test(pm.local), JSON.stringify(pm));
  });

  it('marks incremental compiles (they run locally, with their dependency record written)', () => {
    assert.equal(inv([...LIB, '-C', 'incremental=/ws/target/debug/incremental']).incremental, true);
    assert.equal(inv(LIB).incremental, false);
  });

  it('keeps queries, probes, incremental compiles and unmodelled shapes local, saying why', () => {
    const reason = (args: string[]) => {
      const r = parseInvocation(RUSTC, args, '/ws');
      return 'local' in r ? r.local : 'remote';
    };
    assert.match(reason(['-vV']), /query/);
    assert.match(reason(['-', '--crate-name', '___', '--print=file-names', '--crate-type', 'bin']), /probe|query/);
    assert.match(reason(LIB.map((a) => (a === 'lib' ? 'cdylib' : a))), /crate type cdylib/);
    assert.match(reason([...LIB, '--emit=asm']), /asm/);
  });
});

describe('the Cargo wrapper shape in the rustc classifier', () => {
  const argv = sandboxArgv('/ws', ['/ws', '/reg/regex-1.7.1'], RUSTC, LIB);
  it('pairs the full compile and its metadata view (same argv, different declared outputs)', () => {
    const full = classifyCommand({ arguments: argv, outputFiles: ['ws/target/debug/deps/libregex-0123.rlib', 'ws/target/debug/deps/libregex-0123.rmeta', 'ws/target/debug/deps/regex-0123.d'] });
    const meta = classifyCommand({ arguments: argv, outputFiles: ['ws/target/debug/deps/libregex-0123.rmeta', 'ws/target/debug/deps/regex-0123.d'] });
    assert.equal(full.kind, 'rustc-rlib');
    assert.equal(meta.kind, 'rustc-metadata');
    assert.equal(meta.rlibPath, full.rlibPath);
    assert.deepEqual(meta.pairArgv, full.pairArgv);
    assert.equal(full.crateName, 'regex');
  });
  it('classifies binaries and proc-macros', () => {
    assert.equal(classifyCommand({ arguments: sandboxArgv('/ws', ['/ws'], RUSTC, ['--crate-name', 'app', 'src/main.rs', '--crate-type', 'bin']), outputFiles: ['ws/t/app-9', 'ws/t/app-9.d'] }).kind, 'rustc-bin');
    assert.equal(classifyCommand({ arguments: sandboxArgv('/ws', ['/ws'], RUSTC, ['--crate-name', 'm', 'src/lib.rs', '--crate-type', 'proc-macro']), outputFiles: ['ws/t/libm-1.so', 'ws/t/m-1.d'] }).kind, 'rustc-proc-macro');
  });
});

describe('PipelinedStderr', () => {
  const notice = rmetaNotice('/t/libx-1.rmeta');
  it('prints the snapshot early and then only what the final stderr adds, with the .rmeta notice once', () => {
    let out = '';
    const s = new PipelinedStderr((t) => (out += t), '/t/libx-1.rmeta');
    const warn = '{"$message_type":"diagnostic","message":"unused"}\n';
    s.early(`${warn}${notice}\n{"$message_type":"art`);
    assert.equal(out, `${warn}${notice}\n`);
    s.final(`${warn}${notice}\n{"$message_type":"artifact","artifact":"/t/libx-1.rlib","emit":"link"}\n`);
    assert.equal(out, `${warn}${notice}\n{"$message_type":"artifact","artifact":"/t/libx-1.rlib","emit":"link"}\n`);
  });
  it('announces the .rmeta itself when the snapshot was cut before rustc printed it, and drops rustc\'s later', () => {
    let out = '';
    const s = new PipelinedStderr((t) => (out += t), '/t/libx-1.rmeta');
    s.early('');
    assert.equal(out, `${notice}\n`);
    s.final(`${notice}\n`);
    assert.equal(out, `${notice}\n`);
  });
});
